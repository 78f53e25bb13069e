package checks

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// siteFake serves TechDocs pages by path ("ns/kind/name/page"), unlike fakeAPI, which has one page per site.
type siteFake struct {
	*fakeAPI
	site map[string]string
}

func (s *siteFake) TechDocsSync(_ context.Context, ns, kind, name string) error {
	for k := range s.site {
		if len(k) > len(ns+kind+name)+2 && k[:len(ns+"/"+kind+"/"+name+"/")] == ns+"/"+kind+"/"+name+"/" {
			return nil
		}
	}
	return &backstage.HTTPError{Status: 404}
}

func (s *siteFake) TechDocsPage(_ context.Context, ns, kind, name, page string) (string, int, error) {
	if p, ok := s.site[ns+"/"+kind+"/"+name+"/"+page]; ok {
		return p, 200, nil
	}
	return "not found", 404, nil
}

// runOn runs one check against any API (with the workspace location the test lab expects).
func runOn(t *testing.T, f *fakeAPI, api API, workspace string, c labs.Check) CheckResult {
	t.Helper()
	f.add(location(t, "catalog/orders.yaml"))
	rep, err := Run(t.Context(), Env{API: api, Workspace: workspace}, testLab(c), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep.Tasks[0].Checks[0]
}

func TestDryRunSteps(t *testing.T) {
	ws := writeFiles(t, map[string]string{"t/template.yaml": templateYAML})
	f := newFake()
	f.dryRun = func(req backstage.DryRunRequest) (*backstage.DryRunResponse, int, error) {
		resp := &backstage.DryRunResponse{}
		add := func(step, status string) {
			var l backstage.DryRunLog
			l.Body.StepID, l.Body.Status, l.Body.Message = step, status, "x"
			resp.Log = append(resp.Log, l)
		}
		add("fetch", "processing")
		add("fetch", "completed")
		add("announce", "processing")
		if req.Values["description"] == nil {
			add("announce", "skipped")
		} else {
			add("announce", "completed")
		}
		return resp, 200, nil
	}
	tests := []struct {
		name    string
		values  map[string]any
		steps   map[string]string
		verdict Verdict
		msg     []string
	}{
		{"ran as expected", map[string]any{"description": "d"}, map[string]string{"announce": "completed", "fetch": "completed"}, Pass, nil},
		{"skipped as expected", nil, map[string]string{"announce": "skipped"}, Pass, nil},
		{"ran but should be skipped", map[string]any{"description": "d"}, map[string]string{"announce": "skipped"}, Fail,
			[]string{"step announce ran, but it should have been skipped"}},
		{"no such step", nil, map[string]string{"notify": "completed"}, Fail,
			[]string{"it has no step with id notify (its steps ended: fetch: completed, announce: skipped)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := labs.Check{Type: "dry-run", Template: "t/template.yaml", Values: tc.values, Expect: &labs.DryRunExpect{Steps: tc.steps}}
			got, _ := runCheck(t, f, ws, c)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}

func TestAnswerCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{
		"answers.yaml": "writer: catalog:write\ncopier: fetch:copy\nshouty: Catalog:Fetch\nempty: \"\"\nlist: [fetch:plain, catalog:write]\n",
	})
	f := newFake()
	actions, _ := json.Marshal([]map[string]any{{"id": "catalog:write"}, {"id": "catalog:fetch"}, {"id": "fetch:plain"}})
	f.do = func(method, path string, _ any) (int, []byte, error) {
		if method == "GET" && path == "/api/scaffolder/v2/actions" {
			return 200, actions, nil
		}
		return 404, []byte(`{}`), nil
	}
	live := func(path string, equals any) labs.Check {
		return labs.Check{Type: "answer", File: "answers.yaml", Path: path, URL: "/api/scaffolder/v2/actions", Among: "*.id", Equals: equals}
	}
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		where   string
		msg     []string
	}{
		{"right and listed", live("writer", "catalog:write"), Pass, "answers.yaml:1", nil},
		{"listed but wrong", live("writer", "catalog:fetch"), Fail, "answers.yaml:1", []string{`writer is "catalog:write"; that is not the right answer`}},
		{"not listed", live("copier", nil), Fail, "answers.yaml:2",
			[]string{`copier is "fetch:copy", which is not among what Backstage lists at GET /api/scaffolder/v2/actions (*.id): catalog:fetch, catalog:write, fetch:plain.`}},
		{"case", live("shouty", nil), Fail, "", []string{"Mind the case: Backstage writes catalog:fetch."}},
		{"empty", live("empty", "x"), Fail, "", []string{"answers.yaml does not answer empty yet."}},
		{"missing key", live("nope", "x"), Fail, "", []string{"answers.yaml does not answer nope yet."}},
		{"list as a set", live("list", []any{"catalog:write", "fetch:plain"}), Pass, "", nil},
		{"key only", labs.Check{Type: "answer", File: "answers.yaml", Path: "writer", Equals: "catalog:write"}, Pass, "", nil},
		{"no file", labs.Check{Type: "answer", File: "nope.yaml", Path: "x", Equals: "y"}, Fail, "", []string{"nope.yaml does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := runCheck(t, f, ws, tc.check)
			assertResult(t, got, tc.verdict, tc.where, tc.msg...)
		})
	}
	t.Run("live list unavailable is not-ready", func(t *testing.T) {
		g := newFake()
		g.do = func(string, string, any) (int, []byte, error) { return 503, nil, nil }
		got, _ := runCheck(t, g, ws, live("writer", nil))
		assertResult(t, got, NotReady, "")
	})
}

const sitePage = `<html><head><title>Payments</title></head><body>
<a class="navbar-brand" href=".">Payments system</a>
<ul><li><a href="./" class="nav-link">Overview</a></li>
<li><a href="architecture/" class="nav-link">Architecture</a></li>
<li><a href="runbooks.md" class="nav-link">Runbook</a></li>
<li><a href="https://example.com/" class="nav-link">Elsewhere</a></li>
<li><a href="components/worker/" class="dropdown-item"><span>Payments worker</span></a></li></ul>
<h1>Overview</h1><p>One site for the system.</p></body></html>`

func TestTechDocsPageLinkAndFollow(t *testing.T) {
	sys := ent(t, "system:default/payments", "payments/catalog-info.yaml", map[string]any{"owner": "team-payments"})
	withAnn := func(ref string, ann map[string]string) *backstage.Entity {
		e := ent(t, ref, "payments/catalog-info.yaml", map[string]any{"type": "service"})
		for k, v := range ann {
			e.Metadata.Annotations[k] = v
		}
		return e
	}
	f := newFake(sys,
		withAnn("component:default/api", map[string]string{"backstage.io/techdocs-entity": "system:default/payments"}),
		withAnn("component:default/worker", map[string]string{"backstage.io/techdocs-entity": "system:payments", "backstage.io/techdocs-entity-path": "/components/worker"}),
		withAnn("component:default/typo", map[string]string{"backstage.io/techdocs-entities": "system:default/payments"}),
		withAnn("component:default/nokind", map[string]string{"backstage.io/techdocs-entity": "payments"}),
		withAnn("component:default/wrongkind", map[string]string{"backstage.io/techdocs-entity": "component:default/payments"}),
		withAnn("component:default/mdpath", map[string]string{"backstage.io/techdocs-entity": "system:default/payments", "backstage.io/techdocs-entity-path": "components/worker.md"}),
	)
	s := &siteFake{fakeAPI: f, site: map[string]string{
		"default/system/payments/index.html":                   sitePage,
		"default/system/payments/architecture/index.html":      "<h1>Architecture</h1><p>api publishes to the queue</p>",
		"default/system/payments/components/worker/index.html": "<h1>Payments worker</h1><p>dead-letter queue</p>",
	}}
	td := func(entity string, mod func(*labs.Check)) labs.Check {
		c := labs.Check{Type: "techdocs", Entity: entity, Contains: "Payments system"}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		msg     []string
	}{
		{"page", td("system:default/payments", func(c *labs.Check) { c.Page = "architecture/index.html"; c.Contains = "publishes" }), Pass, nil},
		{"page as a path", td("system:default/payments", func(c *labs.Check) { c.Page = "/components/worker"; c.Contains = "dead-letter" }), Pass, nil},
		{"missing page", td("system:default/payments", func(c *labs.Check) { c.Page = "runbook/index.html" }), Fail,
			[]string{"its runbook/index.html answers 404: is there a docs/runbook.md"}},
		{"link followed", td("system:default/payments", func(c *labs.Check) { c.Link = "Architecture"; c.Contains = "publishes" }), Pass, nil},
		{"nested link text", td("system:default/payments", func(c *labs.Check) { c.Link = "payments worker"; c.Contains = "dead-letter" }), Pass, nil},
		{"link to a missing page", td("system:default/payments", func(c *labs.Check) { c.Link = "Runbook" }), Fail,
			[]string{`the link "Runbook" goes to runbooks.md, which the site does not have (404)`, "relative to docs/"}},
		{"no such link", td("system:default/payments", func(c *labs.Check) { c.Link = "FAQ" }), Fail,
			[]string{`has no link titled "FAQ"`, `"Architecture"`}},
		{"link leaves the site", td("system:default/payments", func(c *labs.Check) { c.Link = "Elsewhere" }), Fail, []string{"outside the docs site"}},
		{"follow", td("component:default/api", func(c *labs.Check) { c.Follow = true }), Pass, nil},
		{"follow with path", td("component:default/worker", func(c *labs.Check) { c.Follow = true; c.Contains = "dead-letter" }), Pass, nil},
		{"follow: no annotation, a typo", td("component:default/typo", func(c *labs.Check) { c.Follow = true }), Fail,
			[]string{"component:default/typo has no annotation backstage.io/techdocs-entity", "It has backstage.io/techdocs-entities: system:default/payments: check the spelling"}},
		{"follow: no kind", td("component:default/nokind", func(c *labs.Check) { c.Follow = true }), Fail,
			[]string{`is "payments", which is not an entity ref with a kind`}},
		{"follow: missing target", td("component:default/wrongkind", func(c *labs.Check) { c.Follow = true }), Fail,
			[]string{"points its TechDocs at component:default/payments", "which is not in the catalog", "system:default/payments"}},
		{"follow: path with .md", td("component:default/mdpath", func(c *labs.Check) { c.Follow = true }), Fail,
			[]string{"system:default/payments (the docs component:default/mdpath points at with backstage.io/techdocs-entity, at backstage.io/techdocs-entity-path components/worker.md) built, but its components/worker.md/index.html answers 404",
				"has no .md: docs/x/y.md is served at x/y/."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runOn(t, f, s, t.TempDir(), tc.check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}

func TestResolveDocsLink(t *testing.T) {
	for _, tc := range []struct{ from, href, want string }{
		{"index.html", "runbook/", "runbook/index.html"},
		{"index.html", "./", "index.html"},
		{"runbook/index.html", "..", "index.html"},
		{"runbook/index.html", "../components/worker/#retries", "components/worker/index.html"},
		{"index.html", "runbooks.md", "runbooks.md"},
		{"index.html", "components/worker", "components/worker/index.html"},
	} {
		if got, ok := resolveDocsLink(tc.from, tc.href); !ok || got != tc.want {
			t.Errorf("resolveDocsLink(%q, %q) = %q, %v; want %q", tc.from, tc.href, got, ok, tc.want)
		}
	}
	if _, ok := resolveDocsLink("index.html", "../../x"); ok {
		t.Error("a link above the site root resolved")
	}
}

func TestMissingEntityNeverProcessed(t *testing.T) {
	// An entity that never passed processing is listed with entity_ref null: match it by what was read.
	f := newFake()
	read := ent(t, "template:default/node-service", "catalog/orders.yaml", map[string]any{})
	f.unprocessed = map[string][]backstage.UnprocessedEntity{"pending": {{
		LocationKey: "file:/workspace/catalog/orders.yaml", UnprocessedEntity: read,
		Errors: []backstage.ProcessingError{{Name: "InputError", Message: "No processor recognized the entity template:default/node-service as valid"}},
	}}}
	got, _ := runCheck(t, f, t.TempDir(), labs.Check{Type: "entity", Entity: "template:default/node-service"})
	assertResult(t, got, Fail, "catalog/orders.yaml", "Backstage read it from catalog/orders.yaml but rejected it: InputError: No processor recognized")
}
