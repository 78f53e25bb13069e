package checks

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/backstage-lab/lab/labs"
)

// headerFake is the fake API plus DoHeaders, answering like Backstage's health, CORS and auth.
type headerFake struct {
	*fakeAPI
	sent http.Header // the last request's headers
}

const checkerToken = "lab-checker-token"

func (h *headerFake) DoHeaders(_ context.Context, method, path string, _ any, header map[string]string, anonymous bool) (int, http.Header, []byte, error) {
	h.sent = http.Header{}
	for k, v := range header {
		h.sent.Set(k, v)
	}
	if !anonymous && h.sent.Get("Authorization") == "" {
		h.sent.Set("Authorization", "Bearer "+checkerToken)
	}
	resp := http.Header{}
	switch {
	case path == "/.backstage/health/v1/readiness":
		resp.Set("Service-Name", "backstage-lab")
		return 200, resp, []byte(`{"status":"ok"}`), nil
	case method == "OPTIONS":
		if origin := h.sent.Get("Origin"); origin == "https://backstage.acme.example" {
			resp.Set("Access-Control-Allow-Origin", origin)
			return 204, resp, nil, nil
		}
		return 401, resp, []byte(`{"error":{"name":"AuthenticationError","message":"Missing credentials"}}`), nil
	}
	switch h.sent.Get("Authorization") {
	case "Bearer " + checkerToken, "Bearer ci-token-123":
		return 200, resp, []byte(`{"facets":{"kind":[]}}`), nil
	case "":
		return 401, resp, []byte(`{"error":{"name":"AuthenticationError","message":"Missing credentials"}}`), nil
	}
	return 401, resp, []byte(`{"error":{"name":"AuthenticationError","message":"Illegal token"}}`), nil
}

func TestHTTPCheckHeaders(t *testing.T) {
	facets := "/api/catalog/entity-facets?facet=kind"
	tests := []struct {
		name    string
		check   labs.Check
		refuse  bool // the fake refuses the checker's token
		verdict Verdict
		msg     []string
		sent    map[string]string
	}{
		{name: "response header matches", check: labs.Check{URL: "/.backstage/health/v1/readiness", Anonymous: true, ResponseHeaders: map[string]string{"service-name": "^backstage-lab$"}}, verdict: Pass},
		{
			name:    "response header missing",
			check:   labs.Check{URL: "/.backstage/health/v1/readiness", Anonymous: true, Status: 200, ResponseHeaders: map[string]string{"x-team": "^payments$"}},
			verdict: Fail,
			msg:     []string{"In the answer to GET /.backstage/health/v1/readiness, header x-team is missing."},
		},
		{
			name:    "response header differs",
			check:   labs.Check{URL: "/.backstage/health/v1/readiness", ResponseHeaders: map[string]string{"service-name": "^payments$"}},
			verdict: Fail,
			msg:     []string{`header service-name is "backstage-lab", expected a value matching ^payments$`},
		},
		{
			name:    "response header must be absent",
			check:   labs.Check{URL: "/.backstage/health/v1/readiness", ResponseHeaders: map[string]string{"service-name": ""}},
			verdict: Fail,
			msg:     []string{`header service-name is "backstage-lab" but should be absent`},
		},
		{
			name:    "anonymous request refused",
			check:   labs.Check{URL: facets, Anonymous: true, Status: 401},
			verdict: Pass,
			sent:    map[string]string{"Authorization": ""},
		},
		{
			name:    "anonymous request let through",
			check:   labs.Check{URL: facets, Anonymous: true, Status: 200},
			verdict: Fail,
			msg:     []string{"answered 401, expected 200"},
		},
		{
			name:    "a second token",
			check:   labs.Check{URL: facets, Headers: map[string]string{"Authorization": "Bearer ci-token-123"}, Status: 200},
			verdict: Pass,
			sent:    map[string]string{"Authorization": "Bearer ci-token-123"},
		},
		{
			name:    "a second token refused is not blamed on the checker",
			check:   labs.Check{URL: facets, Headers: map[string]string{"Authorization": "Bearer ci-other"}, Status: 200},
			verdict: Fail,
			msg:     []string{"answered 401, expected 200. It said: {\"error\":{\"name\":\"AuthenticationError\",\"message\":\"Illegal token\"}}"},
		},
		{
			name:    "cors preflight from the allowed origin",
			check:   labs.Check{Method: "OPTIONS", URL: "/api/catalog/entities", Anonymous: true, Headers: map[string]string{"Origin": "https://backstage.acme.example", "Access-Control-Request-Method": "GET"}, ResponseHeaders: map[string]string{"Access-Control-Allow-Origin": `^https://backstage\.acme\.example$`}},
			verdict: Pass,
			sent:    map[string]string{"Origin": "https://backstage.acme.example", "Authorization": ""},
		},
		{
			name:    "cors preflight from another origin",
			check:   labs.Check{Method: "OPTIONS", URL: "/api/catalog/entities", Anonymous: true, Headers: map[string]string{"Origin": "https://evil.example"}, ResponseHeaders: map[string]string{"Access-Control-Allow-Origin": "."}},
			verdict: Fail,
			msg:     []string{"header Access-Control-Allow-Origin is missing"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &headerFake{fakeAPI: newFake()}
			h.add(location(t, "catalog/orders.yaml"))
			tc.check.Type = "http"
			rep, err := Run(t.Context(), Env{API: h}, testLab(tc.check), Options{})
			if err != nil {
				t.Fatal(err)
			}
			assertResult(t, rep.Tasks[0].Checks[0], tc.verdict, "", tc.msg...)
			for k, v := range tc.sent {
				if got := h.sent.Get(k); got != v {
					t.Errorf("sent %s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// A 401 to lab's own token says why: the learner's externalAccess list replaced the lab's.
func TestHTTPCheckCheckerRefused(t *testing.T) {
	f := newFake()
	f.do = func(string, string, any) (int, []byte, error) {
		return 401, []byte(`{"error":{"name":"AuthenticationError","message":"Illegal token"}}`), nil
	}
	got, _ := runCheck(t, f, "", labs.Check{Type: "http", URL: "/api/catalog/entity-facets?facet=kind", Status: 200})
	assertResult(t, got, Fail, "", "Backstage refused lab's own token", "token ${LAB_TOKEN}", "replaces the list")
	got, _ = runCheck(t, f, "", labs.Check{Type: "http", URL: "/api/catalog/entity-facets?facet=kind", Status: 401})
	assertResult(t, got, Pass, "")
	// A 401 from elsewhere (a proxy's target without credentials) is not about lab's token.
	f.do = func(string, string, any) (int, []byte, error) {
		return 401, []byte(`{"error":{"name":"AuthenticationError","message":"Missing credentials"}}`), nil
	}
	got, _ = runCheck(t, f, "", labs.Check{Type: "http", URL: "/api/proxy/inventory/x", Status: 200})
	assertResult(t, got, Fail, "", "answered 401, expected 200")
	if strings.Contains(got.Message, "lab's own token") {
		t.Errorf("message blames lab's token: %s", got.Message)
	}
}

// Without DoHeaders (a client that cannot send headers) a header check is not-ready, never failed.
func TestHTTPCheckHeadersUnsupported(t *testing.T) {
	f := newFake()
	got, _ := runCheck(t, f, "", labs.Check{Type: "http", URL: "/x", Anonymous: true, Status: 401})
	assertResult(t, got, NotReady, "", "cannot send request headers")
	if strings.Contains(got.Message, "refused") {
		t.Errorf("message blames the token: %s", got.Message)
	}
}

func TestHTTPCheckAnswerPlaceholder(t *testing.T) {
	f := newFake()
	f.do = func(_, path string, _ any) (int, []byte, error) {
		if path == "/api/catalog/entity-facets?facet=kind" {
			return 200, []byte(`{"facets":{"kind":[]}}`), nil
		}
		return 404, []byte(`{"error":{"name":"NotFoundError","message":"Not found"}}`), nil
	}
	check := labs.Check{Type: "http", URL: "{answer:answers.yaml#routes.catalog}/entity-facets?facet=kind", Status: 200}
	tests := []struct {
		name    string
		answers string
		verdict Verdict
		msg     []string
	}{
		{name: "right route", answers: "routes:\n  catalog: /api/catalog\n", verdict: Pass},
		{name: "trailing slash is fine", answers: "routes:\n  catalog: /api/catalog/\n", verdict: Pass},
		{name: "wrong route", answers: "routes:\n  catalog: /catalog\n", verdict: Fail, msg: []string{"GET /catalog/entity-facets?facet=kind answered 404, expected 200."}},
		{name: "not a path", answers: "routes:\n  catalog: catalog\n", verdict: Fail, msg: []string{`answers.yaml:2: routes.catalog is "catalog"; a route is a path on the backend, starting with /.`}},
		{name: "not answered", answers: "routes:\n  catalog:\n", verdict: Fail, msg: []string{"answers.yaml does not answer routes.catalog yet"}},
		{name: "no file", answers: "", verdict: Fail, msg: []string{"Could not read answers.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.answers != "" {
				files["answers.yaml"] = tc.answers
			}
			got, _ := runCheck(t, f, writeFiles(t, files), check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
		})
	}
}
