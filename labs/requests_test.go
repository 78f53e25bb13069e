package labs

import (
	"errors"
	"strings"
	"testing"
)

const requestsLab = `apiVersion: backstage-lab.dev/v1
slug: with-requests
title: Requests
domain: D3
topic: catalog
minutes: 5
fixtures:
  requests:
    - method: POST
      url: /api/catalog/locations
      body: {type: file, target: /workspace/old.yaml}
      waitFor: component:default/old
solutionRequests:
  - method: delete
    url: /api/catalog/locations/{location:/workspace/old.yaml}
  - method: DELETE
    url: /api/catalog/entities/by-uid/{uid:kind=component,metadata.annotations.backstage.io/orphan=true}
tasks:
  - id: t
    title: T
    instructions: Do it.
    checks:
      - {type: entity, entity: component:default/old, absent: true}
`

func TestParseRequests(t *testing.T) {
	lab, err := Parse([]byte(requestsLab), "with-requests/lab.yaml", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	fix := lab.Fixtures.Requests
	if len(fix) != 1 || fix[0].Method != "POST" || fix[0].WaitFor != "component:default/old" || fix[0].Line != 9 {
		t.Errorf("fixtures.requests = %+v", fix)
	}
	if body, ok := fix[0].Body.(map[string]any); !ok || body["target"] != "/workspace/old.yaml" {
		t.Errorf("body = %#v", fix[0].Body)
	}
	sol := lab.SolutionRequests
	if len(sol) != 2 || sol[0].Line != 14 || sol[1].Line != 16 {
		t.Fatalf("solutionRequests = %+v", sol)
	}
	g := RequestPlaceholder.FindStringSubmatch(sol[1].URL)
	if g == nil || g[1] != "uid" || g[2] != "kind=component,metadata.annotations.backstage.io/orphan=true" {
		t.Errorf("placeholder of %q = %q", sol[1].URL, g)
	}
}

func TestParseRequestsInvalid(t *testing.T) {
	bad := strings.NewReplacer(
		"method: POST", "method: FETCH",
		"url: /api/catalog/locations\n", "url: api/catalog/locations\n",
		"waitFor: component:default/old", "waitFor: old",
		"{location:/workspace/old.yaml}", "{id:/workspace/old.yaml}",
	).Replace(requestsLab)
	_, err := Parse([]byte(bad), "bad/lab.yaml", nil)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Parse: %v, want an InvalidError", err)
	}
	want := []string{
		`bad/lab.yaml:9: fixtures.requests[1]: method "FETCH" must be one of GET, POST, PUT, PATCH, DELETE`,
		`bad/lab.yaml:9: fixtures.requests[1]: url "api/catalog/locations" must be a path starting with /`,
		`bad/lab.yaml:9: fixtures.requests[1]: waitFor "old" must be a full entity ref kind:namespace/name`,
		`bad/lab.yaml:14: solutionRequests[1]: url "/api/catalog/locations/{id:/workspace/old.yaml}" has a placeholder that is not {location:TARGET} or {uid:FILTER}`,
	}
	got := make([]string, len(inv.Problems))
	for i, p := range inv.Problems {
		got[i] = p.String()
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
