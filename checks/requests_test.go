package checks

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// reqFake is the fake Backstage with a registered-locations table and a scripted entity query.
type reqFake struct {
	*fakeAPI
	mu        sync.Mutex
	locations map[string]string // id → target
	sent      []string          // "METHOD path" of every Do call except the locations list
	query     func(filter string) []*backstage.Entity
	postCode  int // status of POST /api/catalog/locations (201 when 0)
}

func newReqFake(t *testing.T) *reqFake {
	t.Helper()
	f := &reqFake{fakeAPI: newFake(), locations: map[string]string{}}
	f.do = func(method, path string, body any) (int, []byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case method == http.MethodGet && path == "/api/catalog/locations":
			var items []string
			for id, target := range f.locations {
				items = append(items, fmt.Sprintf(`{"data":{"id":%q,"type":"file","target":%q}}`, id, target))
			}
			return 200, []byte("[" + strings.Join(items, ",") + "]"), nil
		case method == http.MethodPost && path == "/api/catalog/locations":
			f.sent = append(f.sent, method+" "+path)
			if f.postCode != 0 {
				return f.postCode, []byte(`{"error":{"message":"nope"}}`), nil
			}
			target := body.(map[string]any)["target"].(string)
			f.locations[fmt.Sprintf("id-%d", len(f.locations)+1)] = target
			return 201, []byte(`{}`), nil
		case method == http.MethodDelete && strings.HasPrefix(path, "/api/catalog/locations/"):
			f.sent = append(f.sent, method+" "+path)
			delete(f.locations, strings.TrimPrefix(path, "/api/catalog/locations/"))
			return 204, nil, nil
		default:
			f.sent = append(f.sent, method+" "+path)
			return 204, nil, nil
		}
	}
	return f
}

func (f *reqFake) Query(ctx context.Context, filter string, fields ...string) ([]*backstage.Entity, error) {
	if f.query != nil && filter != "kind=location" {
		return f.query(filter), nil
	}
	return f.fakeAPI.Query(ctx, filter, fields...)
}

func (f *reqFake) sentCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func fastRequests(t *testing.T) {
	t.Helper()
	wait, poll := RequestWait, requestPoll
	RequestWait, requestPoll = 2*time.Second, 10*time.Millisecond
	t.Cleanup(func() { RequestWait, requestPoll = wait, poll })
}

func TestApplySolutionRequestsResolvesPlaceholders(t *testing.T) {
	fastRequests(t)
	f := newReqFake(t)
	f.locations["loc-7"] = "/workspace/old.yaml"
	polls := 0
	f.query = func(filter string) []*backstage.Entity {
		if filter != "kind=component,metadata.name=gone,metadata.annotations.backstage.io/orphan=true" {
			t.Errorf("query filter = %q", filter)
		}
		polls++
		if polls < 3 { // the catalog marks the orphan a moment after the edit
			return nil
		}
		e := ent(t, "component:default/gone", "", nil)
		e.Metadata.UID = "uid-1"
		return []*backstage.Entity{e}
	}
	lab := &labs.Lab{SolutionRequests: []labs.Request{
		{Method: "POST", URL: "/api/catalog/locations", Body: map[string]any{"type": "file", "target": "/workspace/new.yaml"}},
		{Method: "DELETE", URL: "/api/catalog/locations/{location:/workspace/old.yaml}"},
		{Method: "DELETE", URL: "/api/catalog/entities/by-uid/{uid:kind=component,metadata.name=gone,metadata.annotations.backstage.io/orphan=true}"},
	}}
	if err := ApplySolutionRequests(t.Context(), Env{API: f}, lab); err != nil {
		t.Fatalf("ApplySolutionRequests: %v", err)
	}
	want := "POST /api/catalog/locations|DELETE /api/catalog/locations/loc-7|DELETE /api/catalog/entities/by-uid/uid-1"
	if got := strings.Join(f.sentCalls(), "|"); got != want {
		t.Errorf("sent %s\nwant %s", got, want)
	}
	if polls != 3 {
		t.Errorf("uid looked up %d times, want 3 (until the entity matched)", polls)
	}
}

func TestApplySolutionRequestsTwiceIsANoOp(t *testing.T) {
	fastRequests(t)
	f := newReqFake(t)
	f.postCode = http.StatusConflict // registered by the first lab solve
	lab := &labs.Lab{SolutionRequests: []labs.Request{
		{Method: "POST", URL: "/api/catalog/locations", Body: map[string]any{"type": "file", "target": "/workspace/new.yaml"}},
		{Method: "DELETE", URL: "/api/catalog/locations/{location:/workspace/old.yaml}"}, // already unregistered
	}}
	if err := ApplySolutionRequests(t.Context(), Env{API: f}, lab); err != nil {
		t.Fatalf("ApplySolutionRequests: %v", err)
	}
	if got := strings.Join(f.sentCalls(), "|"); got != "POST /api/catalog/locations" {
		t.Errorf("sent %s; the DELETE of a location that is not registered must be skipped", got)
	}
}

func TestApplyFixtureRequestsReportsFailureAndWaits(t *testing.T) {
	fastRequests(t)
	f := newReqFake(t)
	f.postCode = http.StatusBadRequest
	lab := &labs.Lab{Fixtures: labs.Fixtures{Requests: []labs.Request{
		{Method: "POST", URL: "/api/catalog/locations", Body: map[string]any{"type": "file", "target": "x"}},
	}}}
	err := ApplyFixtureRequests(t.Context(), Env{API: f}, lab)
	if err == nil || !strings.Contains(err.Error(), "fixtures.requests[1] (POST /api/catalog/locations): status 400") {
		t.Errorf("err = %v", err)
	}

	// waitFor: the next request (and the checks) wait until the entity is in the catalog.
	f = newReqFake(t)
	calls := 0
	f.entityHook = func(_ context.Context, ref string) (*backstage.Entity, error) {
		calls++
		if calls < 4 {
			return nil, notFound(ref)
		}
		return ent(t, ref, "", nil), nil
	}
	lab.Fixtures.Requests[0].WaitFor = "component:default/old"
	if err := ApplyFixtureRequests(t.Context(), Env{API: f}, lab); err != nil {
		t.Fatalf("ApplyFixtureRequests: %v", err)
	}
	if calls != 4 {
		t.Errorf("entity looked up %d times, want 4", calls)
	}
}

func TestResetRequests(t *testing.T) {
	fastRequests(t)
	f := newReqFake(t)
	f.locations["a"] = "/workspace/new.yaml" // registered by the learner
	lab := &labs.Lab{Fixtures: labs.Fixtures{Requests: []labs.Request{
		{Method: "POST", URL: "/api/catalog/locations", Body: map[string]any{"type": "file", "target": "/workspace/old.yaml"}},
	}}}
	if err := ResetRequests(t.Context(), Env{API: f}, lab); err != nil {
		t.Fatalf("ResetRequests: %v", err)
	}
	if got := strings.Join(f.sentCalls(), "|"); got != "DELETE /api/catalog/locations/a|POST /api/catalog/locations" {
		t.Errorf("sent %s", got)
	}
	if len(f.locations) != 1 {
		t.Errorf("locations after reset = %v, want only the fixture's", f.locations)
	}

	// A lab without requests keeps whatever the learner registered.
	f = newReqFake(t)
	f.locations["a"] = "/workspace/new.yaml"
	if err := ResetRequests(t.Context(), Env{API: f}, &labs.Lab{}); err != nil || len(f.sentCalls()) != 0 {
		t.Errorf("ResetRequests without requests: err %v, sent %v", err, f.sentCalls())
	}
}
