package labs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Request is a call to the Backstage REST API that the lab makes itself, with the checker's token:
// fixtures.requests put the catalog in the lab's starting state (e.g. a location someone registered
// earlier), solutionRequests reach the end state of tasks that a learner completes through the API
// (register or unregister a location, delete an orphaned entity), which copying solution/ cannot do.
//
// URL may hold placeholders, each resolved by looking it up (waiting for it to appear, as a learner
// would look before calling):
//   - {location:TARGET}: the id of the registered location whose target is TARGET
//     (GET /api/catalog/locations);
//   - {uid:FILTER}: the metadata.uid of the one entity that the catalog filter FILTER matches
//     (GET /api/catalog/entities/by-query?filter=FILTER), e.g.
//     {uid:kind=component,metadata.name=old,metadata.annotations.backstage.io/orphan=true}.
type Request struct {
	Method string `yaml:"method"` // GET, POST, PUT, PATCH or DELETE
	URL    string `yaml:"url"`    // a path, e.g. /api/catalog/locations
	Body   any    `yaml:"body"`   // sent as JSON when set
	// WaitFor is an entity ref (kind:namespace/name) that must be in the catalog after the request
	// (e.g. an entity of the location just registered) before the next request is sent or checks run.
	WaitFor string `yaml:"waitFor"`

	Line int `yaml:"-"` // line in lab.yaml
}

// RequestPlaceholder matches a placeholder in Request.URL: group 1 is its kind, group 2 its argument.
var RequestPlaceholder = regexp.MustCompile(`\{(location|uid):([^{}]+)\}`)

var requestMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// validateLabRequests records the lines of the lab's requests and checks them; top is lab.yaml's
// top-level mapping node.
func validateLabRequests(lab *Lab, top *yaml.Node) []Problem {
	var out []Problem
	for _, l := range []struct {
		field string
		reqs  []Request
		node  *yaml.Node
	}{
		{"fixtures.requests", lab.Fixtures.Requests, mapValue(mapValue(top, "fixtures"), "requests")},
		{"solutionRequests", lab.SolutionRequests, mapValue(top, "solutionRequests")},
	} {
		for i := range l.reqs {
			if l.node != nil && l.node.Kind == yaml.SequenceNode && i < len(l.node.Content) {
				l.reqs[i].Line = l.node.Content[i].Line
			}
		}
		for _, p := range validateRequests(l.field, l.reqs) {
			p.File = lab.Source
			out = append(out, p)
		}
	}
	return out
}

// validateRequests checks a list of requests (field is fixtures.requests or solutionRequests).
func validateRequests(field string, reqs []Request) []Problem {
	var out []Problem
	for i, r := range reqs {
		add := func(format string, args ...any) {
			out = append(out, Problem{Line: r.Line, Message: fmt.Sprintf("%s[%d]: ", field, i+1) + fmt.Sprintf(format, args...)})
		}
		if !slices.Contains(requestMethods, strings.ToUpper(r.Method)) {
			add("method %q must be one of %s", r.Method, strings.Join(requestMethods, ", "))
		}
		if !strings.HasPrefix(r.URL, "/") {
			add("url %q must be a path starting with /", r.URL)
		}
		if rest := RequestPlaceholder.ReplaceAllString(r.URL, ""); strings.ContainsAny(rest, "{}") {
			add("url %q has a placeholder that is not {location:TARGET} or {uid:FILTER}", r.URL)
		}
		if r.WaitFor != "" && !refPattern.MatchString(r.WaitFor) {
			add("waitFor %q must be a full entity ref kind:namespace/name", r.WaitFor)
		}
	}
	return out
}
