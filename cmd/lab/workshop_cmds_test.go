package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/fake"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// labCmd runs lab with args in-process, with its state in stateDir; it returns stdout, stderr and the error.
func labCmd(ctx context.Context, stateDir string, args ...string) (string, string, error) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	err := labCmdTo(ctx, stateDir, out, errOut, args...)
	return out.String(), errOut.String(), err
}

func labCmdTo(ctx context.Context, stateDir string, out, errOut *syncBuffer, args ...string) error {
	streams := &cli.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	env := map[string]string{"LAB_STATE_DIR": stateDir, "NO_COLOR": "1"}
	f := cli.NewFactory(streams, func(k string) string { return env[k] })
	root := newRootCmd(f)
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	return err
}

// serveWorkshop runs `lab workshop serve --json` on addr in the background and returns what it printed.
func serveWorkshop(t *testing.T, stateDir, addr string, extra ...string) (workshopServeJSON, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		args := append([]string{"workshop", "serve", "--labs", "catalog-relations", "--listen", addr, "--json", "--title", "Room 2"}, extra...)
		done <- labCmdTo(ctx, stateDir, out, errOut, args...)
	}()
	var info workshopServeJSON
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if json.Unmarshal([]byte(out.String()), &info) == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed nothing: %s", errOut.String())
		}
	}
	return info, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestWorkshopCommands walks the workshop flow through the lab commands: the instructor serves, a
// learner joins, checks report (queued while the server is down), the learner flushes, the instructor
// exports.
func TestWorkshopCommands(t *testing.T) {
	ctx := t.Context()
	instructor, learner := t.TempDir(), t.TempDir()
	addr := freeLoopback(t)
	info, stop := serveWorkshop(t, instructor, addr)
	if info.JoinURL != "http://"+addr+"/j/"+info.JoinCode || !strings.Contains(info.DashboardURL, "#token=") || info.Title != "Room 2" {
		t.Fatalf("serve printed %+v", info)
	}

	out, _, err := labCmd(ctx, learner, "workshop", "join", info.JoinURL, "--name", "Ada L.", "--json")
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if strings.Contains(out, "lt_") || !strings.Contains(out, `"name": "Ada L."`) {
		t.Errorf("join --json printed the token or no name: %s", out)
	}
	if _, _, err := labCmd(ctx, learner, "workshop", "join", info.JoinURL, "--name", "Ada L."); err == nil {
		t.Error("joining twice should fail")
	}

	lab := &labs.Lab{Slug: "catalog-relations", Tasks: []labs.Task{{ID: "owner-ref"}, {ID: "depends-on"}}}
	target := &checkTarget{lab: lab, state: provision.StateDir(learner)}
	rep := &checks.Report{Lab: "catalog-relations", Verdict: checks.Fail, DurationMS: 900, Tasks: []checks.TaskResult{
		{ID: "owner-ref", Verdict: checks.Pass, Checks: []checks.CheckResult{{Verdict: checks.Pass, Message: "secret file content"}}},
		{ID: "depends-on", Verdict: checks.Fail, Checks: []checks.CheckResult{{Verdict: checks.Fail}, {Verdict: checks.Pass}}},
	}}
	check := func() string {
		t.Helper()
		streams, _, _, errOut := cli.Test()
		f := cli.NewFactory(streams, func(string) string { return "" })
		start := time.Now()
		reportToWorkshop(ctx, f, target, rep, false)
		if took := time.Since(start); took > workshopReportTimeout+500*time.Millisecond {
			t.Errorf("reporting took %v", took)
		}
		return errOut.String()
	}
	if msg := check(); msg != "" {
		t.Errorf("report with the server up printed %q", msg)
	}

	stop() // the server goes away mid-workshop
	if msg := check(); !strings.Contains(msg, "1 result(s) wait to be sent") {
		t.Errorf("report with the server down printed %q", msg)
	}
	out, _, _ = labCmd(ctx, learner, "workshop", "status", "--json")
	var st membershipJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil || !st.Joined || st.Queued != 1 {
		t.Fatalf("status --json = %s (%v)", out, err)
	}

	_, stop = serveWorkshop(t, instructor, addr) // same database, same address
	defer stop()
	out, _, err = labCmd(ctx, learner, "workshop", "flush")
	if err != nil || !strings.Contains(out, "Sent 1 result(s); 0 waiting.") {
		t.Fatalf("flush: %q, %v", out, err)
	}

	csvPath := filepath.Join(t.TempDir(), "results.csv")
	if _, _, err := labCmd(ctx, instructor, "workshop", "export", "--format", "csv", "-o", csvPath); err != nil {
		t.Fatalf("export: %v", err)
	}
	data, _ := os.ReadFile(csvPath)
	if !strings.Contains(string(data), "Ada L.,catalog-relations,owner-ref,") || strings.Contains(string(data), "secret") {
		t.Errorf("export:\n%s", data)
	}
	out, _, err = labCmd(ctx, instructor, "workshop", "export", "--format", "json")
	var ex struct {
		Results []struct {
			Tasks []struct {
				ID           string `json:"id"`
				ChecksPassed int    `json:"checksPassed"`
				Checks       int    `json:"checks"`
			} `json:"tasks"`
		} `json:"results"`
	}
	if err != nil || json.Unmarshal([]byte(out), &ex) != nil || len(ex.Results) != 2 {
		t.Fatalf("export json: %v\n%s", err, out)
	}
	if tk := ex.Results[0].Tasks[1]; tk.ID != "depends-on" || tk.ChecksPassed != 1 || tk.Checks != 2 {
		t.Errorf("depends-on = %+v", tk)
	}

	if _, _, err := labCmd(ctx, learner, "workshop", "leave"); err != nil {
		t.Fatal(err)
	}
	if msg := check(); msg != "" {
		t.Errorf("report after leaving printed %q", msg)
	}
}

func TestImagesLoadFromTheWorkshopServer(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "lab-images.tar")
	if err := os.WriteFile(bundle, []byte("postgres:17\nlab-backstage:test"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, stop := serveWorkshop(t, t.TempDir(), freeLoopback(t), "--images", bundle)
	defer stop()
	if len(info.ImagesSHA256) != 64 {
		t.Fatalf("serve --json images_sha256 = %q", info.ImagesSHA256)
	}
	learner := t.TempDir()
	streams, _, out, errOut := cli.Test()
	f := cli.NewFactory(streams, func(k string) string { return map[string]string{"LAB_STATE_DIR": learner}[k] })
	eng := fake.New()
	if err := loadImagesFrom(t.Context(), f, eng, info.JoinURL); err != nil {
		t.Fatalf("loadImagesFrom: %v\n%s", err, errOut)
	}
	if !eng.Images["postgres:17"] || !eng.Images["lab-backstage:test"] {
		t.Errorf("images loaded: %v", eng.Images)
	}
	if !strings.Contains(out.String(), "Loaded lab-images.tar") || !strings.Contains(errOut.String(), "downloading images: 100%") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	if _, err := os.Stat(filepath.Join(learner, "images", info.ImagesSHA256+".tar")); err != nil {
		t.Errorf("bundle not kept: %v", err)
	}
}

func TestImagesLoadTakesAFileOrFrom(t *testing.T) {
	for _, args := range [][]string{{"images", "load"}, {"images", "load", "x.tar", "--from", "http://h:1/j/ABCDEF"}, {"images", "load", "a", "b"}} {
		_, _, err := labCmd(t.Context(), t.TempDir(), args...)
		var fe *cli.FlagError
		if !errors.As(err, &fe) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

func TestWorkshopJoinNeedsAServerForACode(t *testing.T) {
	_, _, err := labCmd(t.Context(), t.TempDir(), "workshop", "join", "K7M2QX", "--name", "Ada")
	if err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("err = %v", err)
	}
	_, _, err = labCmd(t.Context(), t.TempDir(), "workshop", "join", "http://127.0.0.1:1/j/K7M2QX", "--name", "=1+1")
	var fe *cli.FlagError
	if !errors.As(err, &fe) {
		t.Errorf("bad name: err = %v, want a usage error", err)
	}
}
