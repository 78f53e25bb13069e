package workshop

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// testLabs are two small labs: the tests do not depend on the built-in labs, which change.
func testLabs() []Lab {
	return []Lab{
		{Slug: "catalog-relations", Title: "Catalog relations", Tasks: []Task{
			{ID: "owner-ref", Title: "Give payments-worker its real owner"},
			{ID: "system-in-domain", Title: "Place the storefront system in the commerce domain"},
			{ID: "depends-on", Title: "Record that payments-api needs payments-db"},
		}},
		{Slug: "templates-anatomy", Title: "Software templates", Tasks: []Task{
			{ID: "parameters", Title: "Ask for the component's name"},
			{ID: "steps", Title: "Publish the skeleton"},
		}},
	}
}

func openTestStore(t *testing.T, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "workshop.db")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type testServer struct {
	store *Store
	ws    *Workshop
	srv   *Server
	http  *httptest.Server
}

func newTestServer(t *testing.T, limits Limits) *testServer {
	t.Helper()
	st := openTestStore(t, "")
	ws, err := st.CreateWorkshop(t.Context(), "Test workshop", testLabs(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Store: st, WorkshopID: ws.ID, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{store: st, ws: ws, srv: srv, http: hs}
}

// do sends a request with an optional bearer token and JSON body and returns the status and body.
func do(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			r = bytes.NewReader(b)
		default:
			data, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func joinTest(t *testing.T, ts *testServer, name string) *Membership {
	t.Helper()
	m, err := Join(t.Context(), nil, ts.http.URL, ts.ws.JoinCode, name)
	if err != nil {
		t.Fatalf("Join %s: %v", name, err)
	}
	return m
}

func result(lab, verdict string, at time.Time, tasks ...TaskResult) Result {
	return Result{ID: NewResultID(), Lab: lab, Verdict: verdict, CheckedAt: at, DurationMS: 1200, Tasks: tasks}
}

func task(id, verdict string, hints int) TaskResult {
	passed := 0
	if verdict == Pass {
		passed = 2
	}
	return TaskResult{ID: id, Verdict: verdict, ChecksPassed: passed, Checks: 2, HintsUsed: hints}
}

// postResults sends results with a learner's token through the API.
func postResults(t *testing.T, base, token string, results ...Result) ResultsResponse {
	t.Helper()
	status, body := do(t, http.MethodPost, base+"/api/results", token, ResultsRequest{Results: results})
	if status != http.StatusOK {
		t.Fatalf("POST /api/results: %d %s", status, body)
	}
	var rr ResultsResponse
	if err := json.Unmarshal(body, &rr); err != nil {
		t.Fatal(err)
	}
	return rr
}
