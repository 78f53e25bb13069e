package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

const ordersYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: experimental
  owner: team-a
  replicas: 3
`

func ordersEntity(t *testing.T, rels ...string) *backstage.Entity {
	t.Helper()
	e := ent(t, "component:default/orders", "catalog/orders.yaml",
		map[string]any{"type": "service", "lifecycle": "experimental", "owner": "team-a", "replicas": 3}, rels...)
	e.Raw["metadata"].(map[string]any)["annotations"].(map[string]any)["backstage.io/techdocs-ref"] = "dir:."
	return e
}

func TestEntityCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{"catalog/orders.yaml": ordersYAML})
	rejected := map[string][]backstage.UnprocessedEntity{"failed": {{
		EntityRef:   "component:default/payments",
		LocationKey: "file:/workspace/catalog/payments.yaml",
		Errors: []backstage.ProcessingError{{Name: "InputError",
			Message: "Policy check failed for component:default/payments; caused by Error: /spec/owner must be string."}},
	}}}
	tests := []struct {
		name        string
		check       labs.Check
		setup       func(f *fakeAPI)
		verdict     Verdict
		where       string
		msg         []string
		expected    string
		found       string
		unprocessed map[string][]backstage.UnprocessedEntity
	}{
		{
			name:    "exists",
			check:   labs.Check{Type: "entity", Entity: "component:default/orders"},
			verdict: Pass, where: "catalog/orders.yaml:1 (component:default/orders)",
		},
		{
			name: "fields match, loosely and with an annotation key",
			check: labs.Check{Type: "entity", Entity: "Component:orders", Fields: map[string]any{
				"spec.type": "service", "spec.replicas": 3, "metadata.annotations.backstage.io/techdocs-ref": "dir:.",
			}},
			verdict: Pass,
		},
		{
			name: "field differs",
			check: labs.Check{Type: "entity", Entity: "component:default/orders", Explain: "Production services need an on-call rota.",
				Fields: map[string]any{"spec.lifecycle": "production", "spec.system": "shop"}},
			verdict: Fail, where: "catalog/orders.yaml:9 (component:default/orders)",
			msg: []string{`In component:default/orders, spec.lifecycle is "experimental", expected "production"; spec.system is not set, expected "shop".`,
				"Production services need an on-call rota."},
			expected: `spec.lifecycle: "production", spec.system: "shop"`,
			found:    `spec.lifecycle: "experimental", spec.system: not set`,
		},
		{
			name:        "missing and rejected by the catalog",
			check:       labs.Check{Type: "entity", Entity: "component:default/payments"},
			unprocessed: rejected,
			verdict:     Fail, where: "catalog/payments.yaml",
			msg: []string{"component:default/payments is not in the catalog.",
				"Backstage read it from catalog/payments.yaml but rejected it: InputError: Policy check failed for component:default/payments; caused by Error: /spec/owner must be string."},
		},
		{
			name:    "missing, same name with another kind",
			check:   labs.Check{Type: "entity", Entity: "component:default/billing"},
			setup:   func(f *fakeAPI) { f.add(ent(t, "api:default/billing", "", nil)) },
			verdict: Fail,
			msg:     []string{"component:default/billing is not in the catalog.", "The catalog has api:default/billing with that name: check the kind and namespace."},
		},
		{
			name:    "missing, nothing known",
			check:   labs.Check{Type: "entity", Entity: "component:default/billing"},
			verdict: Fail,
			msg:     []string{"No catalog file of this lab (catalog/orders.yaml) defines it"},
		},
		{
			name:    "absent and missing",
			check:   labs.Check{Type: "entity", Entity: "component:default/legacy", Absent: true},
			verdict: Pass,
		},
		{
			name:    "absent but present",
			check:   labs.Check{Type: "entity", Entity: "component:default/orders", Absent: true},
			verdict: Fail, where: "catalog/orders.yaml",
			msg: []string{"component:default/orders is still in the catalog, read from catalog/orders.yaml; it should not be."},
		},
		{
			name:  "stale version served",
			check: labs.Check{Type: "entity", Entity: "component:default/orders", Fields: map[string]any{"spec.lifecycle": "production"}},
			setup: func(f *fakeAPI) {
				withErrors(f.entities["component:default/orders"], "InputError: Malformed envelope, /spec/lifecycle must be string")
			},
			verdict: Fail,
			msg:     []string{"Backstage still serves the last valid version of it, because its current file has an error: InputError: Malformed envelope, /spec/lifecycle must be string."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(ordersEntity(t))
			f.unprocessed = tc.unprocessed
			if tc.setup != nil {
				tc.setup(f)
			}
			got, _ := runCheck(t, f, ws, tc.check)
			assertResult(t, got, tc.verdict, tc.where, tc.msg...)
			if tc.expected != "" && got.Expected != tc.expected {
				t.Errorf("expected = %q, want %q", got.Expected, tc.expected)
			}
			if tc.found != "" && got.Found != tc.found {
				t.Errorf("found = %q, want %q", got.Found, tc.found)
			}
		})
	}
}

func TestEntityCheckLinksToUI(t *testing.T) {
	f := newFake(ordersEntity(t), location(t, "catalog/orders.yaml"))
	lab := testLab(labs.Check{Type: "entity", Entity: "component:default/orders", Fields: map[string]any{"spec.type": "website"}, Explain: "Websites have type website."})
	rep, err := Run(t.Context(), Env{API: f, UIBaseURL: "http://127.0.0.1:3000/"}, lab, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `In component:default/orders, spec.type is "service", expected "website". Websites have type website. See http://127.0.0.1:3000/catalog/default/component/orders`
	if got := rep.Tasks[0].Checks[0].Message; got != want {
		t.Errorf("message:\n%s\nwant:\n%s", got, want)
	}
}

func TestRelationCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{"catalog/orders.yaml": ordersYAML})
	team := ent(t, "group:default/team-a", "", nil)
	db := ent(t, "resource:default/orders-db", "", nil)
	tests := []struct {
		name    string
		check   labs.Check
		rels    []string
		others  []*backstage.Entity
		verdict Verdict
		where   string
		msg     []string
		found   string
	}{
		{
			name:    "present, target exists",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "Group:default/team-a"},
			rels:    []string{"ownedBy group:default/team-a"},
			others:  []*backstage.Entity{team},
			verdict: Pass, where: "catalog/orders.yaml:10",
		},
		{
			name:    "present, target missing",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:default/team-a"},
			rels:    []string{"ownedBy group:default/team-a"},
			verdict: Fail,
			msg:     []string{"component:default/orders has ownedBy group:default/team-a, but that points to group:default/team-a, which is not in the catalog: check the kind prefix and namespace."},
		},
		{
			name:    "reverse direction",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "dependsOn", Target: "resource:default/orders-db"},
			rels:    []string{"dependencyOf resource:default/orders-db"},
			others:  []*backstage.Entity{db},
			verdict: Fail,
			msg: []string{"component:default/orders has no relation dependsOn resource:default/orders-db.",
				"The relation points the other way: write spec.dependsOn on component:default/orders (pointing to resource:default/orders-db), not on resource:default/orders-db."},
			found: "dependencyOf resource:default/orders-db",
		},
		{
			name:    "reverse direction of a generated relation",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownerOf", Target: "group:default/team-a"},
			rels:    []string{"ownedBy group:default/team-a"},
			others:  []*backstage.Entity{team},
			verdict: Fail,
			msg:     []string{"write spec.owner on group:default/team-a (pointing to component:default/orders), not on component:default/orders."},
		},
		{
			name:    "wrong kind prefix",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:default/team-a"},
			rels:    []string{"ownedBy user:default/team-a"},
			others:  []*backstage.Entity{team},
			verdict: Fail,
			msg:     []string{"Its ownedBy relations point to user:default/team-a (the kind prefix is wrong: user instead of group; write group:team-a), which is not in the catalog."},
		},
		{
			name:    "wrong namespace",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:default/team-a"},
			rels:    []string{"ownedBy group:ops/team-a"},
			others:  []*backstage.Entity{team},
			verdict: Fail,
			msg:     []string{"group:ops/team-a (wrong namespace: ops instead of default)"},
		},
		{
			name:    "wrong target",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:default/team-a"},
			rels:    []string{"ownedBy group:default/team-b"},
			others:  []*backstage.Entity{team},
			verdict: Fail,
			msg:     []string{"Its ownedBy relations point to group:default/team-b (another entity), which is not in the catalog."},
		},
		{
			name:    "wrong target that exists",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:default/team-a"},
			rels:    []string{"ownedBy group:default/team-b"},
			others:  []*backstage.Entity{team, ent(t, "group:default/team-b", "", nil)},
			verdict: Fail,
			msg:     []string{"Its ownedBy relations point to group:default/team-b (another entity)."},
		},
		{
			name:    "none of that type, target missing too",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "dependsOn", Target: "resource:default/orders-db"},
			verdict: Fail,
			msg: []string{"It has no dependsOn relations at all: Backstage makes them from spec.dependsOn.",
				"Note that resource:default/orders-db is not in the catalog either."},
		},
		{
			name:    "absent and not there",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "dependsOn", Target: "resource:default/orders-db", Absent: true},
			verdict: Pass,
		},
		{
			name:    "absent but there",
			check:   labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "dependsOn", Target: "resource:default/orders-db", Absent: true},
			rels:    []string{"dependsOn resource:default/orders-db"},
			verdict: Fail,
			msg:     []string{"component:default/orders still has the relation dependsOn resource:default/orders-db; it should not."},
		},
		{
			name:    "source entity missing",
			check:   labs.Check{Type: "relation", Entity: "component:default/cart", Relation: "dependsOn", Target: "resource:default/orders-db"},
			verdict: Fail,
			msg:     []string{"component:default/cart is not in the catalog."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(append([]*backstage.Entity{ordersEntity(t, tc.rels...)}, tc.others...)...)
			got, _ := runCheck(t, f, ws, tc.check)
			assertResult(t, got, tc.verdict, tc.where, tc.msg...)
			if tc.found != "" && got.Found != tc.found {
				t.Errorf("found = %q, want %q", got.Found, tc.found)
			}
		})
	}
}

func TestEntityValidCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{"catalog/orders.yaml": ordersYAML})
	check := labs.Check{Type: "entity-valid", Entity: "component:default/orders"}
	brokenLocation := func(t *testing.T) *backstage.Entity {
		return withErrors(location(t, "catalog/orders.yaml"),
			"YAML error at file:/workspace/catalog/orders.yaml, YAMLParseError: Nested mappings are not allowed in compact mappings at line 6, column 1")
	}
	tests := []struct {
		name        string
		entities    func(t *testing.T) []*backstage.Entity
		unprocessed map[string][]backstage.UnprocessedEntity
		verdict     Verdict
		msg         []string
	}{
		{
			name:     "valid",
			entities: func(t *testing.T) []*backstage.Entity { return []*backstage.Entity{ordersEntity(t)} },
			verdict:  Pass,
		},
		{
			name: "error on the entity's status",
			entities: func(t *testing.T) []*backstage.Entity {
				return []*backstage.Entity{withErrors(ordersEntity(t), "InputError: Processor rejected file:/workspace/catalog/orders.yaml: /spec/owner must be string")}
			},
			verdict: Fail,
			msg: []string{"Backstage reports an error for component:default/orders: InputError: Processor rejected catalog/orders.yaml: /spec/owner must be string.",
				"It keeps serving the last valid version until the file is fixed."},
		},
		{
			name:     "listed as failed",
			entities: func(t *testing.T) []*backstage.Entity { return []*backstage.Entity{ordersEntity(t)} },
			unprocessed: map[string][]backstage.UnprocessedEntity{"failed": {{EntityRef: "component:default/orders",
				Errors: []backstage.ProcessingError{{Name: "Error", Message: "stitching failed"}}}}},
			verdict: Fail,
			msg:     []string{"Backstage could not process component:default/orders: Error: stitching failed."},
		},
		{
			name: "its file has a YAML error",
			entities: func(t *testing.T) []*backstage.Entity {
				return []*backstage.Entity{ordersEntity(t), brokenLocation(t)}
			},
			verdict: Fail,
			msg:     []string{"Backstage could not read catalog/orders.yaml, where component:default/orders comes from: YAML error at catalog/orders.yaml, YAMLParseError:"},
		},
		{
			name:     "missing, its file has a YAML error",
			entities: func(t *testing.T) []*backstage.Entity { return []*backstage.Entity{brokenLocation(t)} },
			verdict:  Fail,
			msg: []string{"component:default/orders is not in the catalog.",
				"Backstage could not read this file: catalog/orders.yaml: YAML error at catalog/orders.yaml, YAMLParseError: Nested mappings are not allowed in compact mappings at line 6, column 1."},
		},
		{
			name:        "missing, still pending",
			entities:    func(*testing.T) []*backstage.Entity { return nil },
			unprocessed: map[string][]backstage.UnprocessedEntity{"pending": {{EntityRef: "component:default/orders", LocationKey: "file:/workspace/catalog/orders.yaml"}}},
			verdict:     Fail,
			msg:         []string{"Backstage has read it from catalog/orders.yaml but not finished processing it yet."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.entities(t)...)
			f.unprocessed = tc.unprocessed
			got, _ := runCheck(t, f, ws, check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}

func TestMissingEntityNamesOnlyTheFileThatMentionsIt(t *testing.T) {
	ws := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Join(ws, "catalog"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, "catalog", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "kind: Component\nmetadata:\n  name: alpha\n  bad: [\n")
	write("b.yaml", "kind: Group\nmetadata:\n  name: beta\n")
	r := &runner{env: Env{Workspace: ws}}
	errs := []locationError{{file: "catalog/a.yaml", message: "YAML error"}, {file: "catalog/b.yaml", message: "NotAllowedError"}}
	got := filterLocationErrors(r.env.Workspace, "component:default/alpha", errs)
	if len(got) != 1 || got[0].file != "catalog/a.yaml" {
		t.Fatalf("want only a.yaml, got %+v", got)
	}
	if got := filterLocationErrors(r.env.Workspace, "component:default/gamma", errs); len(got) != 2 {
		t.Fatalf("no file mentions gamma: want every error, got %+v", got)
	}
}
