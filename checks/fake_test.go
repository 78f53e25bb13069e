package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// fakeAPI is a hand-written in-memory Backstage. Zero-value fields mean "nothing there".
type fakeAPI struct {
	mu sync.Mutex

	readyErr    error
	entities    map[string]*backstage.Entity // by lower-cased ref
	unprocessed map[string][]backstage.UnprocessedEntity
	// entityHook, when set, answers Entity instead of the map (e.g. to change over time).
	entityHook func(ctx context.Context, ref string) (*backstage.Entity, error)

	dryRun    func(req backstage.DryRunRequest) (*backstage.DryRunResponse, int, error)
	syncErr   map[string]error  // "ns/kind/name" → TechDocsSync error
	pages     map[string]string // "ns/kind/name" → index.html
	authorize func(token string, items []backstage.AuthorizeItem) ([]backstage.AuthorizeResult, error)
	do        func(method, path string, body any) (int, []byte, error)

	refreshed []string
	calls     map[string]int
}

var _ API = (*fakeAPI)(nil)

func newFake(entities ...*backstage.Entity) *fakeAPI {
	f := &fakeAPI{entities: map[string]*backstage.Entity{}, calls: map[string]int{}}
	for _, e := range entities {
		f.add(e)
	}
	return f
}

func (f *fakeAPI) add(e *backstage.Entity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entities[strings.ToLower(e.Ref())] = e
}

func (f *fakeAPI) count(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
}

func (f *fakeAPI) Ready(context.Context) error { f.count("Ready"); return f.readyErr }

func notFound(ref string) error {
	return fmt.Errorf("get entity %s: %w", ref, &backstage.HTTPError{Method: "GET", Path: "/api/catalog/entities/by-name/...", Status: 404})
}

func (f *fakeAPI) Entity(ctx context.Context, ref string) (*backstage.Entity, error) {
	f.count("Entity")
	if f.entityHook != nil {
		return f.entityHook(ctx, ref)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.entities[strings.ToLower(normRef(ref))]; ok {
		return e, nil
	}
	return nil, notFound(ref)
}

func (f *fakeAPI) EntitiesByRefs(_ context.Context, refs []string) ([]*backstage.Entity, error) {
	f.count("EntitiesByRefs")
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*backstage.Entity, len(refs))
	for i, r := range refs {
		out[i] = f.entities[strings.ToLower(normRef(r))]
	}
	return out, nil
}

// Query understands "kind=x" and "metadata.name=x" (case-insensitive, like the catalog).
func (f *fakeAPI) Query(_ context.Context, filter string, _ ...string) ([]*backstage.Entity, error) {
	f.count("Query")
	key, value, _ := strings.Cut(filter, "=")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*backstage.Entity
	for _, e := range f.entities {
		switch {
		case key == "kind" && strings.EqualFold(e.Kind, value),
			key == "metadata.name" && strings.EqualFold(e.Metadata.Name, value):
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeAPI) Refresh(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshed = append(f.refreshed, ref)
	return nil
}

func (f *fakeAPI) Unprocessed(_ context.Context, which string) ([]backstage.UnprocessedEntity, error) {
	f.count("Unprocessed")
	return f.unprocessed[which], nil
}

func (f *fakeAPI) DryRun(_ context.Context, req backstage.DryRunRequest) (*backstage.DryRunResponse, int, error) {
	return f.dryRun(req)
}

func (f *fakeAPI) TechDocsSync(_ context.Context, ns, kind, name string) error {
	key := ns + "/" + kind + "/" + name
	if err, ok := f.syncErr[key]; ok {
		return err
	}
	if _, ok := f.pages[key]; !ok {
		return &backstage.HTTPError{Status: 404}
	}
	return nil
}

func (f *fakeAPI) TechDocsPage(_ context.Context, ns, kind, name, _ string) (string, int, error) {
	page, ok := f.pages[ns+"/"+kind+"/"+name]
	if !ok {
		return "not found", 404, nil
	}
	return page, 200, nil
}

func (f *fakeAPI) Authorize(_ context.Context, token string, items ...backstage.AuthorizeItem) ([]backstage.AuthorizeResult, error) {
	return f.authorize(token, items)
}

func (f *fakeAPI) Do(_ context.Context, method, path string, body any) (int, []byte, error) {
	return f.do(method, path, body)
}

// ent builds an entity through JSON, the way the client decodes one (so Raw is filled in).
// file, when set, is its workspace file; rels are "type targetRef" pairs.
func ent(t *testing.T, ref, file string, spec map[string]any, rels ...string) *backstage.Entity {
	t.Helper()
	r, err := parseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	kind := strings.ToUpper(r.kind[:1]) + r.kind[1:]
	if r.kind == "api" {
		kind = "API"
	}
	m := map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       kind,
		"metadata":   map[string]any{"name": r.name, "namespace": r.namespace, "annotations": map[string]any{}},
		"spec":       spec,
	}
	if file != "" {
		m["metadata"].(map[string]any)["annotations"].(map[string]any)[backstage.AnnotationManagedByLocation] = "file:/workspace/" + file
	}
	var relations []map[string]any
	for _, rel := range rels {
		typ, target, _ := strings.Cut(rel, " ")
		relations = append(relations, map[string]any{"type": typ, "targetRef": target})
	}
	m["relations"] = relations
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var e backstage.Entity
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// withErrors adds error-level status items to an entity.
func withErrors(e *backstage.Entity, msgs ...string) *backstage.Entity {
	e.Status = &backstage.Status{}
	for _, m := range msgs {
		e.Status.Items = append(e.Status.Items, backstage.StatusItem{Type: "backstage.io/catalog-processing", Level: "error", Message: m})
	}
	return e
}

// location builds the Location entity Backstage makes for a configured workspace file.
func location(t *testing.T, file string) *backstage.Entity {
	t.Helper()
	return ent(t, "location:default/generated-"+strings.ReplaceAll(file, "/", "-"), "", map[string]any{"type": "file", "target": "/workspace/" + file})
}

// writeFiles lays out a workspace: path → content.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testLab is a lab with one workspace location and one task per check.
func testLab(checks ...labs.Check) *labs.Lab {
	lab := &labs.Lab{Slug: "demo", Title: "Demo", Fixtures: labs.Fixtures{Locations: []string{"catalog/orders.yaml"}}}
	for i, c := range checks {
		lab.Tasks = append(lab.Tasks, labs.Task{ID: fmt.Sprintf("task-%d", i+1), Title: fmt.Sprintf("Task %d", i+1), Checks: []labs.Check{c}})
	}
	return lab
}

// runCheck runs one check through Run (gate, refresh, pre-scan and all) and returns its result.
func runCheck(t *testing.T, f *fakeAPI, workspace string, c labs.Check) (CheckResult, *Report) {
	t.Helper()
	if _, err := f.Entity(t.Context(), "location:default/generated-catalog-orders.yaml"); err != nil {
		f.add(location(t, "catalog/orders.yaml"))
	}
	rep, err := Run(t.Context(), Env{API: f, Workspace: workspace}, testLab(c), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Tasks) != 1 || len(rep.Tasks[0].Checks) != 1 {
		t.Fatalf("report has %d tasks: %+v", len(rep.Tasks), rep)
	}
	return rep.Tasks[0].Checks[0], rep
}

// assertResult checks the verdict and that the message (and where) contain the given parts.
func assertResult(t *testing.T, got CheckResult, verdict Verdict, where string, msgParts ...string) {
	t.Helper()
	if got.Verdict != verdict {
		t.Errorf("verdict = %s, want %s; message: %s", got.Verdict, verdict, got.Message)
	}
	for _, p := range msgParts {
		if !strings.Contains(got.Message, p) {
			t.Errorf("message lacks %q:\n%s", p, got.Message)
		}
	}
	if where != "" && !strings.Contains(got.Where, where) {
		t.Errorf("where = %q, want it to contain %q", got.Where, where)
	}
}
