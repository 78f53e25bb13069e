package workshop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseJoinTarget(t *testing.T) {
	cases := []struct {
		target, server, base, code string
		err                        bool
	}{
		{"http://10.0.0.5:7420/j/K7M2QX", "", "http://10.0.0.5:7420", "K7M2QX", false},
		{"http://10.0.0.5:7420/j/k7m2qx/", "", "http://10.0.0.5:7420", "K7M2QX", false},
		{"10.0.0.5:7420/j/K7M2QX", "", "http://10.0.0.5:7420", "K7M2QX", false},
		{"http://host:7420/?code=K7M2QX", "", "http://host:7420", "K7M2QX", false},
		{"k7m2qx", "10.0.0.5:7420", "http://10.0.0.5:7420", "K7M2QX", false},
		{"K7M2QX", "http://10.0.0.5:7420/", "http://10.0.0.5:7420", "K7M2QX", false},
		{"http://10.0.0.5:7420", "", "http://10.0.0.5:7420", "", false},
		{"K7M2QX", "", "", "", true},
		{"http:///j/X", "", "", "", true},
	}
	for _, c := range cases {
		base, code, err := ParseJoinTarget(c.target, c.server)
		if (err != nil) != c.err || base != c.base || code != c.code {
			t.Errorf("ParseJoinTarget(%q, %q) = %q, %q, %v; want %q, %q, err %v", c.target, c.server, base, code, err, c.base, c.code, c.err)
		}
	}
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer serves the workshop in st on addr until the returned stop is called.
func startServer(t *testing.T, st *Store, ws *Workshop, addr string, limits Limits) (stop func()) {
	t.Helper()
	srv, err := NewServer(ServerOptions{Store: st, WorkshopID: ws.ID, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the port was free a moment ago; the kernel may need a moment to let it go
		if ln, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		_ = srv.Serve(ctx, ln)
		close(done)
	}()
	return func() {
		cancel()
		<-done
	}
}

func TestDeliverQueuesWhileTheServerIsDownAndFlushesLater(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	addr := freeAddr(t)
	stop := startServer(t, st, ws, addr, Limits{})
	dir := filepath.Join(t.TempDir(), "workshop")
	m, err := Join(ctx, nil, "http://"+addr, ws.JoinCode, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveMembership(dir, m); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, membershipFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("membership mode: %v %v", fi.Mode().Perm(), err)
	}
	d, err := Deliver(ctx, nil, dir, result("catalog-relations", Fail, time.Now(), task("owner-ref", Fail, 0)))
	if err != nil || d.Sent != 1 || d.Queued != 0 || d.Err != nil {
		t.Fatalf("Deliver with the server up = %+v, %v", d, err)
	}

	stop() // the instructor's laptop sleeps
	start := time.Now()
	for i := range 3 {
		sctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		d, err = Deliver(sctx, nil, dir, result("catalog-relations", Fail, time.Now(), task("owner-ref", Fail, i)))
		cancel()
		if err != nil || d.Sent != 0 || d.Queued != i+1 || d.Err == nil {
			t.Fatalf("Deliver with the server down = %+v, %v", d, err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("3 deliveries to a stopped server took %v", took)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "outbox"))
	for _, e := range entries {
		if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
			t.Errorf("queued %s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if n, _ := Queued(dir); n != 3 {
		t.Fatalf("Queued = %d, want 3", n)
	}

	stop = startServer(t, st, ws, addr, Limits{})
	defer stop()
	d, err = Deliver(ctx, nil, dir, result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 2)))
	if err != nil || d.Sent != 4 || d.Queued != 0 {
		t.Fatalf("Deliver after the restart = %+v, %v", d, err)
	}
	if n, _ := st.CountReports(ctx, ws.ID); n != 5 {
		t.Fatalf("server has %d results, want 5", n)
	}
	b, _ := st.Board(ctx, ws, time.Now(), time.Minute)
	if c := b.Learners[0].Cells[CellKey("catalog-relations", "owner-ref")]; c.Verdict != Pass || c.Attempts != 5 || c.HintsUsed != 2 {
		t.Errorf("cell after flush = %+v", c)
	}
}

func TestDeliverWithoutMembershipDoesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Deliver(t.Context(), nil, dir, result("x", Pass, time.Now())); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("err = %v, want ErrNotJoined", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %d files without a membership", len(entries))
	}
}

func TestDeliverDropsRejectedAndKeepsResultsOfAClosedWorkshop(t *testing.T) {
	ts := newTestServer(t, Limits{})
	dir := t.TempDir()
	if err := SaveMembership(dir, joinTest(t, ts, "Ada")); err != nil {
		t.Fatal(err)
	}
	d, err := Deliver(t.Context(), nil, dir, result("catalog-relations", Pass, time.Now(), task("no-such-task", Pass, 0)))
	if err != nil || d.Rejected != 1 || d.Queued != 0 {
		t.Fatalf("invalid result: %+v, %v", d, err)
	}
	// The instructor restarts with fewer labs: the learner's lab learns it with the next answer.
	if err := ts.store.SetLabs(t.Context(), ts.ws.ID, testLabs()[:1]); err != nil {
		t.Fatal(err)
	}
	if d, err := Deliver(t.Context(), nil, dir, result("catalog-relations", Fail, time.Now(), task("owner-ref", Fail, 0))); err != nil || d.Sent != 1 {
		t.Fatalf("Deliver: %+v, %v", d, err)
	}
	if m, _ := LoadMembership(dir); len(m.Labs) != 1 || m.Labs[0] != "catalog-relations" {
		t.Errorf("membership labs = %v, want [catalog-relations]", m.Labs)
	}
	_ = ts.store.CloseWorkshop(t.Context(), ts.ws.ID, time.Now())
	d, err = Deliver(t.Context(), nil, dir, result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 0)))
	if err != nil || !d.Closed || d.Queued != 1 {
		t.Fatalf("closed workshop: %+v, %v", d, err)
	}
	if n, err := Leave(dir); err != nil || n != 1 {
		t.Fatalf("Leave = %d, %v", n, err)
	}
	if _, err := LoadMembership(dir); !errors.Is(err, ErrNotJoined) {
		t.Errorf("after Leave: %v", err)
	}
}

// flakyBundle serves a bundle but cuts the first response after cut bytes, like Wi-Fi dropping.
func flakyBundle(t *testing.T, content []byte, advertise string, cut int) (hs *httptest.Server, code string, downloads *atomic.Int32, lastRange *atomic.Value) {
	t.Helper()
	ctx := t.Context()
	st := openTestStore(t, "")
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	path := filepath.Join(t.TempDir(), "lab-images.tar")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := OpenBundle(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if advertise != "" {
		bundle.SHA256 = advertise
	}
	srv, _ := NewServer(ServerOptions{Store: st, WorkshopID: ws.ID, Bundle: bundle})
	h := srv.Handler()
	downloads, lastRange = &atomic.Int32{}, &atomic.Value{}
	lastRange.Store("")
	hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == bundlePath {
			lastRange.Store(r.Header.Get("Range"))
			if downloads.Add(1) == 1 {
				w.Header().Set("Content-Length", strconv.Itoa(len(content)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(content[:cut])
				panic(http.ErrAbortHandler) // drop the connection mid-body
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs, ws.JoinCode, downloads, lastRange
}

func TestDownloadBundleResumesAndVerifies(t *testing.T) {
	content := make([]byte, 3<<20)
	for i := range content {
		content[i] = byte(i * 7)
	}
	hs, code, downloads, lastRange := flakyBundle(t, content, "", 1<<20)
	dir := t.TempDir()
	var retries int
	var lastDone int64
	path, info, err := DownloadBundle(t.Context(), DownloadOptions{
		Server: hs.URL, Code: code, Dir: dir,
		Progress: func(done, total int64) { lastDone = done },
		Retry:    func(error, time.Duration) { retries++ },
	})
	if err != nil {
		t.Fatalf("DownloadBundle: %v", err)
	}
	sum := sha256.Sum256(content)
	if info.SHA256 != hex.EncodeToString(sum[:]) || filepath.Base(path) != info.SHA256+".tar" {
		t.Errorf("info = %+v, path %s", info, path)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(content) {
		t.Fatal("downloaded bundle differs")
	}
	if downloads.Load() != 2 || retries != 1 || lastRange.Load() != "bytes=1048576-" {
		t.Errorf("downloads %d, retries %d, last range %q; want a resume from 1 MiB", downloads.Load(), retries, lastRange.Load())
	}
	if lastDone != int64(len(content)) {
		t.Errorf("progress ended at %d", lastDone)
	}
	// A second run finds it intact and fetches nothing.
	if _, _, err := DownloadBundle(t.Context(), DownloadOptions{Server: hs.URL, Code: code, Dir: dir}); err != nil || downloads.Load() != 2 {
		t.Errorf("second run: %v, downloads %d", err, downloads.Load())
	}
}

func TestDownloadBundleRejectsAChecksumMismatch(t *testing.T) {
	content := []byte(strings.Repeat("x", 4096))
	hs, code, _, _ := flakyBundle(t, content, strings.Repeat("ab", 32), 100)
	dir := t.TempDir()
	_, _, err := DownloadBundle(t.Context(), DownloadOptions{Server: hs.URL, Code: code, Dir: dir,
		Retry: func(error, time.Duration) {}})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d files after a bad download", len(entries))
	}
}
