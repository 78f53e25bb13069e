package backstage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testToken = "secret-token"

// newTestServer serves the routes given, and fails the test for a wrong token (except on readiness).
func newTestServer(t *testing.T, routes map[string]http.HandlerFunc) *Client {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "Bearer " + testToken
		if strings.HasPrefix(r.URL.Path, "/api/permission/") {
			want = "Bearer user-token"
		}
		if !strings.HasPrefix(r.URL.Path, "/.backstage/") && r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"name":"AuthenticationError","message":"Illegal token"}}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", testToken)
}

func TestReady(t *testing.T) {
	ready := false
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /.backstage/health/v1/readiness": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				t.Error("readiness must not need a token")
			}
			if !ready {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"message":"Backend has not started yet"}`)
				return
			}
			fmt.Fprint(w, `{"status":"ok"}`)
		},
	})
	err := c.Ready(t.Context())
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || !strings.Contains(err.Error(), "Backend has not started yet") {
		t.Fatalf("Ready before start = %v, want a 503 HTTPError with the message", err)
	}
	ready = true
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready = %v", err)
	}
}

func TestEntity(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/catalog/entities/by-name/component/default/orders": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
				"metadata":{"name":"orders","namespace":"default","uid":"u1","annotations":{"backstage.io/techdocs-ref":"dir:."}},
				"spec":{"type":"service","owner":"team-a"},
				"relations":[{"type":"ownedBy","targetRef":"group:default/team-a"}],
				"status":{"items":[{"type":"backstage.io/catalog-processing","level":"error","message":"InputError: bad"}]}}`)
		},
		"GET /api/catalog/entities/by-name/component/default/missing": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"name":"NotFoundError","message":"No entity named 'missing' found, with kind 'component' in namespace 'default'"}}`)
		},
	})
	e, err := c.Entity(t.Context(), "component:default/orders")
	if err != nil {
		t.Fatal(err)
	}
	if e.Ref() != "component:default/orders" || e.Metadata.Annotations["backstage.io/techdocs-ref"] != "dir:." ||
		e.Spec["owner"] != "team-a" || len(e.Relations) != 1 || e.Relations[0].TargetRef != "group:default/team-a" {
		t.Errorf("entity decoded wrong: %+v", e)
	}
	if got := e.Errors(); len(got) != 1 || got[0] != "InputError: bad" {
		t.Errorf("Errors() = %v", got)
	}
	if e.Raw["spec"].(map[string]any)["type"] != "service" {
		t.Errorf("Raw not kept: %v", e.Raw)
	}
	_, err = c.Entity(t.Context(), "component:default/missing")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing entity error = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "No entity named 'missing'") {
		t.Errorf("error lost Backstage's message: %v", err)
	}
}

func TestWrongToken(t *testing.T) {
	c := newTestServer(t, nil)
	c.Token = "wrong"
	_, err := c.Entity(t.Context(), "component:default/x")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestEntitiesByRefs(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"POST /api/catalog/entities/by-refs": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ EntityRefs []string }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.EntityRefs) != 2 {
				t.Errorf("body: %v %v", in, err)
			}
			fmt.Fprint(w, `{"items":[{"kind":"Group","metadata":{"name":"team-a","namespace":"default"}},null]}`)
		},
	})
	got, err := c.EntitiesByRefs(t.Context(), []string{"group:default/team-a", "group:default/nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] == nil || got[0].Ref() != "group:default/team-a" || got[1] != nil {
		t.Fatalf("got %v", got)
	}
}

func TestQueryFollowsCursor(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/catalog/entities/by-query": func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("fields") != "metadata.name,spec.target" {
				t.Errorf("fields = %q", q.Get("fields"))
			}
			switch {
			case q.Get("cursor") == "" && q.Get("filter") == "kind=location":
				fmt.Fprint(w, `{"items":[{"kind":"Location","metadata":{"name":"a"}}],"totalItems":2,"pageInfo":{"nextCursor":"c2"}}`)
			case q.Get("cursor") == "c2" && q.Get("filter") == "":
				fmt.Fprint(w, `{"items":[{"kind":"Location","metadata":{"name":"b"}}],"totalItems":2,"pageInfo":{}}`)
			default:
				t.Errorf("unexpected query %v", q)
				w.WriteHeader(400)
			}
		},
	})
	got, err := c.Query(t.Context(), "kind=location", "metadata.name", "spec.target")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Metadata.Name != "b" {
		t.Fatalf("got %v", got)
	}
}

func TestRefreshAndUnprocessed(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"POST /api/catalog/refresh": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if string(body) != `{"entityRef":"component:default/x"}` {
				t.Errorf("refresh body %s", body)
			}
		},
		"GET /api/catalog/entities/unprocessed/failed": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"type":"failed","entities":[{"entity_id":"id1","entity_ref":"component:default/x",
				"unprocessed_entity":{"kind":"Component","metadata":{"name":"x"}},
				"errors":[{"name":"InputError","message":"Policy check failed","cause":{"name":"Error","message":"bad"}}],
				"location_key":"file:/workspace/catalog/x.yaml","next_update_at":"2026-01-01"}]}`)
		},
	})
	if err := c.Refresh(t.Context(), "component:default/x"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Unprocessed(t.Context(), "failed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EntityRef != "component:default/x" || got[0].LocationKey != "file:/workspace/catalog/x.yaml" ||
		got[0].Errors[0].String() != "InputError: Policy check failed" || got[0].UnprocessedEntity.Metadata.Name != "x" {
		t.Fatalf("got %+v", got)
	}
	if _, err := c.Unprocessed(t.Context(), "other"); err == nil {
		t.Error("want an error for an unknown list")
	}
}

func TestDryRun(t *testing.T) {
	status := 200
	c := newTestServer(t, map[string]http.HandlerFunc{
		"POST /api/scaffolder/v2/dry-run": func(w http.ResponseWriter, r *http.Request) {
			var in DryRunRequest
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Template["kind"] != "Template" || in.Values == nil {
				t.Errorf("request %+v %v", in, err)
			}
			w.WriteHeader(status)
			switch status {
			case 200:
				fmt.Fprint(w, `{"log":[{"body":{"message":"Beginning step Fetch"}}],"directoryContents":[{"path":"README.md","executable":false,"base64Content":"aGk="}],"output":{"links":[]},"steps":[]}`)
			case 400:
				fmt.Fprint(w, `{"errors":[{"property":"instance","message":"requires property \"name\"","stack":"instance requires property \"name\""}]}`)
			default:
				fmt.Fprint(w, `{"error":{"name":"InputError","message":"Input template is not a template"}}`)
			}
		},
	})
	req := DryRunRequest{Template: map[string]any{"kind": "Template"}}
	resp, st, err := c.DryRun(t.Context(), req)
	if err != nil || st != 200 || resp.DirectoryContents[0].Path != "README.md" || resp.Log[0].Body.Message != "Beginning step Fetch" {
		t.Fatalf("200: %+v %d %v", resp, st, err)
	}
	status = 400
	resp, st, err = c.DryRun(t.Context(), req)
	if err != nil || st != 400 || len(resp.Errors) != 1 || resp.Errors[0].String() != `instance requires property "name"` {
		t.Fatalf("400: %+v %d %v", resp, st, err)
	}
	status = 500
	resp, st, err = c.DryRun(t.Context(), req)
	if err != nil || st != 500 || resp.Errors[0].String() != "InputError: Input template is not a template" {
		t.Fatalf("500: %+v %d %v", resp, st, err)
	}
}

func TestTechDocs(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/techdocs/sync/default/component/ok": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") != "text/event-stream" {
				t.Errorf("accept = %q", r.Header.Get("Accept"))
			}
			fmt.Fprint(w, "event: log\ndata: \"Building\"\n\nevent: finish\ndata: {\"updated\":true}\n\n")
		},
		"GET /api/techdocs/sync/default/component/broken": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "event: log\ndata: \"Building\"\n\nevent: error\ndata: \"Error: Config file 'mkdocs.yml' does not exist\"\n\n")
		},
		"GET /api/techdocs/static/docs/default/component/ok/index.html": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "<html><h1>Orders</h1></html>")
		},
	})
	if err := c.TechDocsSync(t.Context(), "default", "component", "ok"); err != nil {
		t.Fatal(err)
	}
	err := c.TechDocsSync(t.Context(), "default", "component", "broken")
	var be *BuildError
	if !errors.As(err, &be) || be.Message != "Error: Config file 'mkdocs.yml' does not exist" {
		t.Fatalf("broken build err = %v", err)
	}
	if err := c.TechDocsSync(t.Context(), "default", "component", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing entity err = %v", err)
	}
	page, st, err := c.TechDocsPage(t.Context(), "default", "component", "ok", "")
	if err != nil || st != 200 || !strings.Contains(page, "Orders") {
		t.Fatalf("page %q %d %v", page, st, err)
	}
}

func TestAuthorize(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"POST /api/permission/authorize": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			want := `{"items":[{"id":"1","permission":{"type":"resource","name":"catalog.entity.delete","attributes":{"action":"delete"},"resourceType":"catalog-entity"},"resourceRef":"component:default/x"},{"id":"2","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}}]}`
			if string(body) != want {
				t.Errorf("body\n got %s\nwant %s", body, want)
			}
			fmt.Fprint(w, `{"items":[{"id":"2","result":"ALLOW"},{"id":"1","result":"DENY"}]}`)
		},
	})
	got, err := c.Authorize(t.Context(), "user-token",
		AuthorizeItem{Permission: Permission{Type: "resource", Name: "catalog.entity.delete", Attributes: map[string]string{"action": "delete"}, ResourceType: "catalog-entity"}, ResourceRef: "component:default/x"},
		AuthorizeItem{Permission: Permission{Type: "basic", Name: "catalog.entity.create"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Result != "DENY" || got[1].Result != "ALLOW" {
		t.Fatalf("results not in request order: %+v", got)
	}
	if _, err := c.Authorize(t.Context(), ""); err == nil {
		t.Error("want an error without a user token")
	}
}

func TestDo(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/catalog/entity-facets": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(418)
			fmt.Fprint(w, `{"facets":{}}`)
		},
	})
	st, body, err := c.Do(t.Context(), "GET", "/api/catalog/entity-facets?facet=kind", nil)
	if err != nil || st != 418 || string(body) != `{"facets":{}}` {
		t.Fatalf("%d %s %v", st, body, err)
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ in, kind, ns, name string }{
		{"component:default/x", "component", "default", "x"},
		{"Group:team-a", "Group", "default", "team-a"},
	} {
		k, ns, n, err := ParseRef(tc.in)
		if err != nil || k != tc.kind || ns != tc.ns || n != tc.name {
			t.Errorf("ParseRef(%q) = %q %q %q %v", tc.in, k, ns, n, err)
		}
	}
	if _, _, _, err := ParseRef("team-a"); err == nil {
		t.Error("want error without kind")
	}
}
