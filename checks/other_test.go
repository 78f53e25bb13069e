package checks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

const templateYAML = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
spec:
  parameters:
    - required: [name]
      properties:
        name: { type: string }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: "${{ parameters.name }}" } }
  output:
    links:
      - title: Repo
        url: https://example.com/${{ parameters.name }}
`

func TestDryRunCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{
		"templates/hello/template.yaml":      templateYAML,
		"templates/hello/skeleton/README.md": "# ${{ values.name }}\n",
		"templates/broken/template.yaml":     "kind: Template\nmetadata:\n  name: x\n spec: {}\n",
	})
	ok := func(req backstage.DryRunRequest) (*backstage.DryRunResponse, int, error) {
		if req.Values["name"] == nil {
			return &backstage.DryRunResponse{Errors: []backstage.DryRunError{{Property: "instance", Message: `requires property "name"`,
				Stack: `instance requires property "name"`}}, Body: `{"errors":[...]}`}, 400, nil
		}
		var paths []string
		for _, f := range req.DirectoryContents {
			paths = append(paths, f.Path)
		}
		if strings.Join(paths, ",") != "skeleton/README.md,template.yaml" {
			return nil, 0, fmt.Errorf("directoryContents = %v", paths)
		}
		if req.Template["kind"] != "Template" {
			return nil, 0, fmt.Errorf("template = %v", req.Template)
		}
		readme := base64.StdEncoding.EncodeToString([]byte("# " + req.Values["name"].(string) + "\n"))
		resp := &backstage.DryRunResponse{
			DirectoryContents: []backstage.DryRunFile{{Path: "README.md", Base64Content: readme}},
			Output:            map[string]any{"links": []any{map[string]any{"title": "Repo", "url": "https://example.com/" + req.Values["name"].(string)}}},
		}
		resp.Log = make([]backstage.DryRunLog, 2)
		resp.Log[0].Body.Message = "Beginning step Fetch"
		resp.Log[1].Body.Message = "Fetching template content from remote URL"
		return resp, 200, nil
	}
	values := map[string]any{"name": "cart"}
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		where   string
		msg     []string
	}{
		{
			name: "all expectations met",
			check: labs.Check{Template: "templates/hello/template.yaml", Values: values, Expect: &labs.DryRunExpect{
				Files: []string{"README.md"}, AbsentFiles: []string{"catalog-info.yaml"}, FileContains: map[string]string{"./README.md": `^# cart`},
				Output: map[string]any{"links.0.url": "https://example.com/cart"}, Log: "Beginning step",
			}},
			verdict: Pass,
		},
		{
			name:    "missing file and wrong content",
			check:   labs.Check{Template: "templates/hello/template.yaml", Values: values, Expect: &labs.DryRunExpect{Files: []string{"catalog-info.yaml"}, FileContains: map[string]string{"README.md": "orders"}}},
			verdict: Fail, where: "templates/hello/template.yaml",
			msg: []string{"The scaffolder's dry-run of templates/hello/template.yaml: ",
				"it did not produce catalog-info.yaml (it produced README.md)", `README.md does not match /orders/ (it starts: "# cart")`},
		},
		{
			name:    "file it should not produce, output and log",
			check:   labs.Check{Template: "templates/hello/template.yaml", Values: values, Expect: &labs.DryRunExpect{AbsentFiles: []string{"README.md"}, Output: map[string]any{"links.0.title": "Repository"}, Log: "Publishing"}},
			verdict: Fail,
			msg: []string{"it produced README.md, which it should not", `output links.0.title is "Repo", expected "Repository"`,
				"no log line matches /Publishing/ (the log ends: Beginning step Fetch | Fetching template content from remote URL)"},
		},
		{
			name:    "validation error when a success was expected",
			check:   labs.Check{Template: "templates/hello/template.yaml", Expect: &labs.DryRunExpect{Files: []string{"README.md"}}},
			verdict: Fail,
			msg:     []string{`The scaffolder's dry-run of templates/hello/template.yaml answered 400, expected 200. It said: instance requires property "name".`},
		},
		{
			name:    "expected validation error",
			check:   labs.Check{Template: "templates/hello/template.yaml", Expect: &labs.DryRunExpect{Status: 400, Error: `requires property "name"`}},
			verdict: Pass,
		},
		{
			name:    "template is not valid YAML",
			check:   labs.Check{Template: "templates/broken/template.yaml", Expect: &labs.DryRunExpect{}},
			verdict: Fail, where: "templates/broken/template.yaml:4",
			msg: []string{"templates/broken/template.yaml:4 is not valid YAML: did not find expected key."},
		},
		{
			name:    "template missing",
			check:   labs.Check{Template: "templates/nope/template.yaml", Expect: &labs.DryRunExpect{}},
			verdict: Fail,
			msg:     []string{"templates/nope/template.yaml does not exist in your workspace."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.dryRun = ok
			tc.check.Type = "dry-run"
			got, _ := runCheck(t, f, ws, tc.check)
			assertResult(t, got, tc.verdict, tc.where, tc.msg...)
		})
	}
}

func TestTechDocsCheck(t *testing.T) {
	page := `<html><head><style>h1{color:red}</style></head><body><h1>Orders &amp; Payments</h1><p>How to <b>deploy</b> it.</p></body></html>`
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		msg     []string
	}{
		{name: "page contains the text", check: labs.Check{Entity: "component:default/orders", Contains: "how to DEPLOY it"}, verdict: Pass},
		{name: "entities are unescaped", check: labs.Check{Entity: "component:default/orders", Contains: "Orders & Payments"}, verdict: Pass},
		{
			name:    "text missing",
			check:   labs.Check{Entity: "component:default/orders", Contains: "runbook"},
			verdict: Fail,
			msg:     []string{`The TechDocs page of component:default/orders does not contain "runbook"; it starts: "Orders & Payments How to deploy it."`},
		},
		{
			name:    "build fails",
			check:   labs.Check{Entity: "component:default/broken", Contains: "x"},
			verdict: Fail,
			msg:     []string{"Backstage could not build the TechDocs of component:default/broken: Error: Config file 'mkdocs.yml' does not exist at catalog/broken."},
		},
		{
			name:    "entity missing",
			check:   labs.Check{Entity: "component:default/nope", Contains: "x"},
			verdict: Fail,
			msg:     []string{"component:default/nope is not in the catalog."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(ordersEntity(t))
			f.pages = map[string]string{"default/component/orders": page}
			f.syncErr = map[string]error{"default/component/broken": &backstage.BuildError{Message: "Error: Config file 'mkdocs.yml' does not exist at /workspace/catalog/broken."}}
			tc.check.Type = "techdocs"
			got, _ := runCheck(t, f, "", tc.check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}

func TestPermissionCheck(t *testing.T) {
	authorize := func(token string, items []backstage.AuthorizeItem) ([]backstage.AuthorizeResult, error) {
		if token != "token-for-user:default/guest" {
			return nil, fmt.Errorf("token %q", token)
		}
		it := items[0]
		if it.Permission.Name == "catalog.entity.delete" {
			if it.Permission.Type != "resource" || it.Permission.ResourceType != "catalog-entity" ||
				it.Permission.Attributes["action"] != "delete" || it.ResourceRef != "component:default/orders" {
				return nil, fmt.Errorf("item %+v", it)
			}
			return []backstage.AuthorizeResult{{ID: "1", Result: "DENY"}}, nil
		}
		if it.Permission.Type != "basic" || it.Permission.Attributes["action"] != "create" {
			return nil, fmt.Errorf("item %+v", it)
		}
		return []backstage.AuthorizeResult{{ID: "1", Result: "ALLOW"}}, nil
	}
	userToken := func(_ context.Context, user string) (string, error) {
		if user == "user:default/nobody" {
			return "", fmt.Errorf("sign in: %w", backstage.ErrNotFound)
		}
		return "token-for-" + user, nil
	}
	tests := []struct {
		name      string
		check     labs.Check
		userToken func(context.Context, string) (string, error)
		verdict   Verdict
		msg       []string
	}{
		{
			name:      "deny on a resource",
			check:     labs.Check{User: "user:default/guest", Permission: "catalog.entity.delete", Resource: "component:default/orders", Decision: "DENY"},
			userToken: userToken, verdict: Pass,
		},
		{
			name:      "allowed but expected deny",
			check:     labs.Check{User: "user:default/guest", Permission: "catalog.entity.create", Decision: "DENY"},
			userToken: userToken, verdict: Fail,
			msg: []string{"Backstage answers ALLOW when user:default/guest asks for catalog.entity.create; expected DENY."},
		},
		{
			name:      "user not in the catalog",
			check:     labs.Check{User: "user:default/nobody", Permission: "catalog.entity.create", Decision: "ALLOW"},
			userToken: userToken, verdict: Fail,
			msg: []string{"Could not sign in as user:default/nobody: that user is not in the catalog."},
		},
		{
			name:    "no way to sign in",
			check:   labs.Check{User: "user:default/guest", Permission: "catalog.entity.create", Decision: "ALLOW"},
			verdict: NotReady,
			msg:     []string{"cannot sign in as a user"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(location(t, "catalog/orders.yaml"))
			f.authorize = authorize
			tc.check.Type = "permission"
			rep, err := Run(t.Context(), Env{API: f, UserToken: tc.userToken}, testLab(tc.check), Options{})
			if err != nil {
				t.Fatal(err)
			}
			assertResult(t, rep.Tasks[0].Checks[0], tc.verdict, "", tc.msg...)
		})
	}
}

func TestHTTPCheck(t *testing.T) {
	do := func(method, path string, body any) (int, []byte, error) {
		switch {
		case method == "GET" && path == "/api/catalog/entity-facets?facet=kind":
			return 200, []byte(`{"facets":{"kind":[{"value":"Component","count":2}]}}`), nil
		case method == "POST" && path == "/api/catalog/refresh":
			if b, _ := body.(map[string]any); b["entityRef"] != "component:default/orders" {
				return 400, []byte(`{"error":{"name":"InputError","message":"bad body"}}`), nil
			}
			return 200, nil, nil
		case path == "/api/down":
			return 0, nil, errors.New("connection refused")
		}
		return 404, []byte(`{"error":{"name":"NotFoundError","message":"Not found"}}`), nil
	}
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		msg     []string
	}{
		{name: "status", check: labs.Check{URL: "/api/catalog/entity-facets?facet=kind", Status: 200}, verdict: Pass},
		{name: "json values, loosely", check: labs.Check{URL: "/api/catalog/entity-facets?facet=kind", JSON: map[string]any{"facets.kind.0.value": "Component", "facets.kind.0.count": 2}}, verdict: Pass},
		{name: "post with a body", check: labs.Check{Method: "post", URL: "/api/catalog/refresh", Body: map[string]any{"entityRef": "component:default/orders"}, Status: 200}, verdict: Pass},
		{
			name:    "wrong status",
			check:   labs.Check{URL: "/api/nope", Status: 200},
			verdict: Fail,
			msg:     []string{`GET /api/nope answered 404, expected 200. It said: {"error":{"name":"NotFoundError","message":"Not found"}}`},
		},
		{
			name:    "wrong json value",
			check:   labs.Check{URL: "/api/catalog/entity-facets?facet=kind", JSON: map[string]any{"facets.kind.0.count": 3, "facets.type": "x"}},
			verdict: Fail,
			msg:     []string{"In the answer to GET /api/catalog/entity-facets?facet=kind, facets.kind.0.count is 2, expected 3; facets.type is not set, expected \"x\"."},
		},
		{name: "transport error", check: labs.Check{URL: "/api/down", Status: 200}, verdict: NotReady, msg: []string{"connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.do = do
			tc.check.Type = "http"
			got, _ := runCheck(t, f, "", tc.check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}
