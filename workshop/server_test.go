package workshop

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServerJoin(t *testing.T) {
	ts := newTestServer(t, Limits{})
	url := ts.http.URL + "/api/join"
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"wrong code", JoinRequest{Code: "AAAAAA", Name: "Ada"}, http.StatusForbidden},
		{"bad name", JoinRequest{Code: ts.ws.JoinCode, Name: "=cmd|calc"}, http.StatusUnprocessableEntity},
		{"unknown field", []byte(`{"code":"` + ts.ws.JoinCode + `","name":"Ada","admin":true}`), http.StatusBadRequest},
		{"not JSON", []byte(`name=Ada`), http.StatusBadRequest},
		{"too big", []byte(`{"code":"` + strings.Repeat("A", 5000) + `"}`), http.StatusRequestEntityTooLarge},
		{"ok, code in lower case", JoinRequest{Code: strings.ToLower(ts.ws.JoinCode), Name: "Ada"}, http.StatusCreated},
		{"name taken", JoinRequest{Code: ts.ws.JoinCode, Name: "ADA"}, http.StatusConflict},
	}
	for _, c := range cases {
		status, body := do(t, http.MethodPost, url, "", c.body)
		if status != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, status, body, c.status)
		}
	}
	if err := ts.store.CloseWorkshop(t.Context(), ts.ws.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if status, _ := do(t, http.MethodPost, url, "", JoinRequest{Code: ts.ws.JoinCode, Name: "Bob"}); status != http.StatusGone {
		t.Errorf("join a closed workshop: %d, want 410", status)
	}
}

func TestServerJoinIsRateLimited(t *testing.T) {
	limits := DefaultLimits()
	limits.JoinsPerMinute = 3
	ts := newTestServer(t, limits)
	var last *http.Response
	for range 4 {
		resp, err := http.Post(ts.http.URL+"/api/join", "application/json", strings.NewReader(`{"code":"WRONG1","name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th join in a minute: %d, Retry-After %q; want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

func TestServerResultsNeedTheLearnersToken(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	body := ResultsRequest{Results: []Result{result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 0))}}
	for name, token := range map[string]string{"none": "", "join code": ts.ws.JoinCode, "instructor": ts.ws.InstructorToken, "made up": "lt_x"} {
		if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", token, body); status != http.StatusUnauthorized {
			t.Errorf("results with %s token: %d, want 401", name, status)
		}
	}
	rr := postResults(t, ts.http.URL, ada.Token, body.Results...)
	if rr.Accepted != 1 {
		t.Fatalf("accepted = %d", rr.Accepted)
	}
	// Results go to the token's learner, whatever the body says: there is no learner field to forge.
	b, _ := ts.store.Board(t.Context(), ts.ws, time.Now(), time.Minute)
	if len(b.Learners) != 1 || b.Learners[0].Name != "Ada" || b.Learners[0].Reports != 1 {
		t.Fatalf("board = %+v", b.Learners)
	}
}

func TestServerValidatesResults(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	now := time.Now()
	good := result("catalog-relations", Fail, now, task("owner-ref", Pass, 1), task("depends-on", Fail, 0))
	bad := []Result{
		result("not-a-lab", Pass, now),
		result("catalog-relations", "maybe", now),
		result("catalog-relations", Pass, now, task("no-such-task", Pass, 0)),
		result("catalog-relations", Pass, now, task("owner-ref", Pass, 0), task("owner-ref", Pass, 0)),
		result("catalog-relations", Pass, now, task("owner-ref", Pass, -1)),
		{ID: "bad id!", Lab: "catalog-relations", Verdict: Pass},
		{ID: "age", Lab: "catalog-relations", Verdict: Pass, AgeMS: -5},
	}
	rr := postResults(t, ts.http.URL, ada.Token, append([]Result{good}, bad...)...)
	if rr.Accepted != 1 || len(rr.Rejected) != len(bad) {
		t.Fatalf("accepted %d, rejected %v; want 1 and %d", rr.Accepted, rr.Rejected, len(bad))
	}
	rr = postResults(t, ts.http.URL, ada.Token, good)
	if rr.Accepted != 0 || rr.Duplicates != 1 {
		t.Fatalf("sending again: %+v, want one duplicate", rr)
	}
	many := make([]Result, MaxResultsPerPost+1)
	if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", ada.Token, ResultsRequest{Results: many}); status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d results: status %d, want 413", len(many), status)
	}
	huge := []byte(`{"results":[{"id":"` + strings.Repeat("x", 300<<10) + `"}]}`)
	if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", ada.Token, huge); status != http.StatusRequestEntityTooLarge {
		t.Errorf("300 KiB body: status %d, want 413", status)
	}
}

func TestServerResultsAreRateLimitedPerLearner(t *testing.T) {
	limits := DefaultLimits()
	limits.ResultsPerMinute = 2
	ts := newTestServer(t, limits)
	ada, bob := joinTest(t, ts, "Ada"), joinTest(t, ts, "Bob")
	r := func() ResultsRequest {
		return ResultsRequest{Results: []Result{result("catalog-relations", Fail, time.Now(), task("owner-ref", Fail, 0))}}
	}
	for range 2 {
		if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", ada.Token, r()); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", ada.Token, r()); status != http.StatusTooManyRequests {
		t.Errorf("Ada's 3rd post in a minute: %d, want 429", status)
	}
	if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", bob.Token, r()); status != http.StatusOK {
		t.Errorf("Bob is not limited by Ada: %d", status)
	}
}

func TestServerInstructorEndpointsNeedTheInstructorToken(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	endpoints := []struct{ method, path string }{
		{"GET", "/api/board"}, {"GET", "/api/events"}, {"GET", "/api/export.csv"}, {"GET", "/api/export.json"}, {"POST", "/api/close"},
	}
	for _, e := range endpoints {
		for name, token := range map[string]string{"none": "", "learner": ada.Token, "join code": ts.ws.JoinCode} {
			if status, _ := do(t, e.method, ts.http.URL+e.path, token, nil); status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s token: %d, want 401", e.method, e.path, name, status)
			}
		}
		if status, _ := do(t, e.method, ts.http.URL+e.path+"?token="+ada.Token, "", nil); status != http.StatusUnauthorized {
			t.Errorf("%s %s with a learner token parameter: %d, want 401", e.method, e.path, status)
		}
	}
	// A state-changing request takes the token from the header only, never from the URL.
	if status, _ := do(t, http.MethodPost, ts.http.URL+"/api/close?token="+ts.ws.InstructorToken, "", nil); status != http.StatusUnauthorized {
		t.Errorf("close with token parameter: %d, want 401", status)
	}
	if status, body := do(t, http.MethodGet, ts.http.URL+"/api/board", ts.ws.InstructorToken, nil); status != http.StatusOK {
		t.Errorf("board with instructor token: %d %s", status, body)
	}
	if status, _ := do(t, http.MethodGet, ts.http.URL+"/api/export.csv?token="+ts.ws.InstructorToken, "", nil); status != http.StatusOK {
		t.Errorf("export link with token parameter: %d", status)
	}
}

func TestServerCloseStopsResultsButKeepsExport(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	postResults(t, ts.http.URL, ada.Token, result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 0)))
	if status, body := do(t, http.MethodPost, ts.http.URL+"/api/close", ts.ws.InstructorToken, nil); status != http.StatusOK {
		t.Fatalf("close: %d %s", status, body)
	}
	status, _ := do(t, http.MethodPost, ts.http.URL+"/api/results", ada.Token,
		ResultsRequest{Results: []Result{result("catalog-relations", Pass, time.Now(), task("depends-on", Pass, 0))}})
	if status != http.StatusGone {
		t.Errorf("results after close: %d, want 410", status)
	}
	status, body := do(t, http.MethodGet, ts.http.URL+"/api/export.json", ts.ws.InstructorToken, nil)
	var ex Export
	if status != http.StatusOK || json.Unmarshal(body, &ex) != nil {
		t.Fatalf("export after close: %d %s", status, body)
	}
	if ex.Workshop.ClosedAt.IsZero() || len(ex.Results) != 1 || len(ex.Learners) != 1 {
		t.Errorf("export = closed %v, %d results, %d learners", ex.Workshop.ClosedAt, len(ex.Results), len(ex.Learners))
	}
}

func TestServerExportCSV(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	joinTest(t, ts, "Bob")
	postResults(t, ts.http.URL, ada.Token, result("catalog-relations", Fail, time.Now(), task("owner-ref", Pass, 2), task("depends-on", Fail, 0)))
	status, body := do(t, http.MethodGet, ts.http.URL+"/api/export.csv", ts.ws.InstructorToken, nil)
	if status != http.StatusOK {
		t.Fatalf("export: %d", status)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(csvHeader(), ",") {
		t.Errorf("header = %v", recs[0])
	}
	if len(recs) != 1+2*5 { // 2 learners × 5 tasks
		t.Fatalf("%d lines, want 11", len(recs))
	}
	ownerRef := recs[1] // Ada, catalog-relations, owner-ref
	if ownerRef[0] != "Ada" || ownerRef[2] != "owner-ref" || ownerRef[4] != Pass || ownerRef[5] != "true" || ownerRef[9] != "2" {
		t.Errorf("Ada's owner-ref line = %v", ownerRef)
	}
}

// readEvent reads one server-sent event (name and data).
func readEvent(t *testing.T, r *bufio.Reader) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestServerEventsStreamTheBoardThenUpdates(t *testing.T) {
	ts := newTestServer(t, Limits{})
	ada := joinTest(t, ts, "Ada")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.http.URL+"/api/events?token="+ts.ws.InstructorToken, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	name, data := readEvent(t, r)
	var b Board
	if name != "board" || json.Unmarshal([]byte(data), &b) != nil || len(b.Learners) != 1 {
		t.Fatalf("first event = %s %s", name, data)
	}
	postResults(t, ts.http.URL, ada.Token, result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 0)))
	name, data = readEvent(t, r)
	var row Row
	if name != "learner" || json.Unmarshal([]byte(data), &row) != nil {
		t.Fatalf("update event = %s %s", name, data)
	}
	if c := row.Cells[CellKey("catalog-relations", "owner-ref")]; row.Name != "Ada" || c == nil || c.Verdict != Pass {
		t.Fatalf("update row = %+v", row)
	}
	do(t, http.MethodPost, ts.http.URL+"/api/close", ts.ws.InstructorToken, nil)
	if name, _ := readEvent(t, r); name != "workshop" {
		t.Fatalf("after close: event %s, want workshop", name)
	}
}

func TestServerLimitsOpenDashboards(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxDashboards = 1
	ts := newTestServer(t, limits)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.http.URL+"/api/events?token="+ts.ws.InstructorToken, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if status, _ := do(t, http.MethodGet, ts.http.URL+"/api/board", ts.ws.InstructorToken, nil); status != http.StatusOK {
		t.Fatalf("board: %d", status)
	}
	resp2, err := http.Get(ts.http.URL + "/api/events?token=" + ts.ws.InstructorToken)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second dashboard: %d, want 503", resp2.StatusCode)
	}
}

func TestServerPages(t *testing.T) {
	ts := newTestServer(t, Limits{})
	status, body := do(t, http.MethodGet, ts.http.URL+"/j/"+ts.ws.JoinCode, "", nil)
	if status != http.StatusOK || !strings.Contains(string(body), "lab workshop join http://") {
		t.Errorf("join page: %d %s", status, body)
	}
	if status, _ := do(t, http.MethodGet, ts.http.URL+"/j/ZZZZZZ", "", nil); status != http.StatusNotFound {
		t.Errorf("join page with a wrong code: %d, want 404", status)
	}
	resp, err := http.Get(ts.http.URL + "/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("dashboard: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, p := range []string{"/static/app.js", "/static/style.css"} {
		if status, _ := do(t, http.MethodGet, ts.http.URL+p, "", nil); status != http.StatusOK {
			t.Errorf("%s: %d", p, status)
		}
	}
}

func TestServerImages(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	path := filepath.Join(t.TempDir(), "lab-images.tar")
	content := strings.Repeat("layer", 100000)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := OpenBundle(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := NewServer(ServerOptions{Store: st, WorkshopID: ws.ID, Bundle: bundle})
	h := newHTTPServer(t, srv)

	if status, _ := do(t, http.MethodGet, h+"/api/images", "", nil); status != http.StatusUnauthorized {
		t.Errorf("images info without code: %d, want 401", status)
	}
	status, body := do(t, http.MethodGet, h+"/api/images?code="+ws.JoinCode, "", nil)
	var info BundleInfo
	if status != http.StatusOK || json.Unmarshal(body, &info) != nil || info.SHA256 != bundle.SHA256 || info.Size != int64(len(content)) {
		t.Fatalf("images info: %d %s", status, body)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h+bundlePath, nil)
	req.Header.Set("X-Lab-Join-Code", ws.JoinCode)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("ETag") != `"`+bundle.SHA256+`"` || !strings.HasPrefix(resp.Header.Get("Repr-Digest"), "sha-256=:") {
		t.Errorf("range request: %d, ETag %q, Repr-Digest %q", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Repr-Digest"))
	}
}

func newHTTPServer(t *testing.T, srv *Server) string {
	t.Helper()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}
