package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/backstage-lab/lab/labs"
)

// headerDoer is the part of the Backstage client that sends extra request headers (or none at all) and
// returns the response headers; *backstage.Client implements it. It is separate from API so that fakes
// that do not need it stay small.
type headerDoer interface {
	DoHeaders(ctx context.Context, method, path string, body any, header map[string]string, anonymous bool) (int, http.Header, []byte, error)
}

// usesHeaders reports whether an http check needs more than API.Do: its own headers, no token, or a look
// at the response headers.
func usesHeaders(c labs.Check) bool {
	return len(c.Headers) > 0 || c.Anonymous || len(c.ResponseHeaders) > 0
}

// doHTTP sends an http check's request; the response headers are nil when the check does not use them.
func (r *runner) doHTTP(ctx context.Context, method string, c labs.Check, body any) (int, http.Header, []byte, error) {
	if !usesHeaders(c) {
		status, data, err := r.env.API.Do(ctx, method, c.URL, body)
		return status, nil, data, err
	}
	hd, ok := r.env.API.(headerDoer)
	if !ok {
		return 0, nil, nil, errors.New("this Backstage client cannot send request headers or read response headers")
	}
	return hd.DoHeaders(ctx, method, c.URL, body, c.Headers, c.Anonymous)
}

// usesCheckerToken reports whether the check's request carries lab's own token.
func usesCheckerToken(c labs.Check) bool {
	if c.Anonymous {
		return false
	}
	for k := range c.Headers {
		if strings.EqualFold(k, "Authorization") {
			return false
		}
	}
	return true
}

// checkerRefused explains a 401 "Illegal token" to a request made with lab's own token: the learner's
// configuration no longer accepts it (typically an externalAccess list that replaced the lab's). Other
// 401s (e.g. "Missing credentials" from a proxy target) are not about the token.
func checkerRefused(c labs.Check, status int, body []byte) string {
	if status != http.StatusUnauthorized || c.Status == http.StatusUnauthorized || !usesCheckerToken(c) ||
		!strings.Contains(string(body), "Illegal token") {
		return ""
	}
	return " Backstage refused lab's own token, so it no longer accepts it: backend.auth.externalAccess must still list" +
		" the lab's entry (type static, token ${LAB_TOKEN}, subject lab-checker). A list in a later config file" +
		" replaces the list of the earlier files instead of adding to it."
}

// checkResponseHeaders compares the response headers with the check's responseHeaders: each value must
// match its regular expression, and an empty expression means the header must be absent.
func checkResponseHeaders(req string, c labs.Check, h http.Header) (CheckResult, bool) {
	var diffs, expected, found []string
	for _, name := range sortedKeys(c.ResponseHeaders) {
		pattern := c.ResponseHeaders[name]
		values, present := h[http.CanonicalHeaderKey(name)]
		got := strings.Join(values, ", ")
		if pattern == "" {
			if present {
				diffs = append(diffs, fmt.Sprintf("header %s is %q but should be absent", name, got))
				expected = append(expected, name+" absent")
				found = append(found, name+": "+got)
			}
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return failed(req, fmt.Sprintf("The lab's pattern %q for header %s is not a regular expression: %v.", pattern, name, err), "", ""), false
		}
		switch {
		case !present:
			diffs = append(diffs, fmt.Sprintf("header %s is missing", name))
			found = append(found, name+" missing")
		case !re.MatchString(got):
			diffs = append(diffs, fmt.Sprintf("header %s is %q, expected a value matching %s", name, got, pattern))
			found = append(found, name+": "+got)
		default:
			continue
		}
		expected = append(expected, name+" ~ "+pattern)
	}
	if len(diffs) == 0 {
		return CheckResult{}, true
	}
	msg := fmt.Sprintf("In the answer to %s, %s.", req, strings.Join(diffs, "; "))
	return failed(req, msg, strings.Join(expected, ", "), strings.Join(found, ", ")), false
}

// answerPlaceholder is {answer:FILE#PATH} in an http check's url: the learner's answer at PATH of the
// workspace file FILE (e.g. {answer:answers.yaml#routes.catalog}/entity-facets?facet=kind), so the
// check asks the live backend whether the route the learner named serves what the question says.
var answerPlaceholder = regexp.MustCompile(`\{answer:([^#{}]+)#([^{}]+)\}`)

// resolveAnswers replaces the answer placeholders in c.URL; a missing or unreadable answer fails.
func (r *runner) resolveAnswers(c *labs.Check) (CheckResult, bool) {
	var res CheckResult
	ok := true
	c.URL = answerPlaceholder.ReplaceAllStringFunc(c.URL, func(m string) string {
		if !ok {
			return m
		}
		g := answerPlaceholder.FindStringSubmatch(m)
		file, path := g[1], g[2]
		docs, ye, err := readWorkspaceYAML(r.env.Workspace, file)
		switch {
		case err != nil:
			res, ok = failed(file, fmt.Sprintf("Could not read %s: %v.", file, err), path+" answered", "no answer"), false
			return m
		case ye != nil:
			res, ok = failed(ye.where(file), fmt.Sprintf("%s is not valid YAML: %s.", ye.where(file), trimDot(ye.Message)), "valid YAML", ye.Message), false
			return m
		}
		// The first document that has the path (a manifest file may hold several).
		var got any
		where := file
		for i, doc := range docs {
			node, line := lookupNode(doc, splitPath(path))
			if node == nil && i < len(docs)-1 {
				continue
			}
			if line > 0 {
				where = fmt.Sprintf("%s:%d", file, line)
			}
			if node != nil {
				_ = node.Decode(&got)
			}
			break
		}
		s, isString := got.(string)
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if !isString || s == "" {
			res, ok = failed(where, fmt.Sprintf("%s does not answer %s yet (a path such as /api/...).", file, path), path+" answered", showFound(got, got != nil)), false
			return m
		}
		if !strings.HasPrefix(s, "/") {
			res, ok = failed(where, fmt.Sprintf("%s: %s is %q; a route is a path on the backend, starting with /.", where, path, s), "a path starting with /", s), false
			return m
		}
		return s
	})
	return res, ok
}
