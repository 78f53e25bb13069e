package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/backstage-lab/lab/labs"
)

// checkHTTP: a request to the backend (with the checker's token) answers the expected status and JSON values.
func (r *runner) checkHTTP(ctx context.Context, c labs.Check) CheckResult {
	method := strings.ToUpper(c.Method)
	if method == "" {
		method = "GET"
	}
	if res, ok := r.resolveAnswers(&c); !ok {
		return res
	}
	req := method + " " + c.URL
	var body any
	if c.Body != nil {
		body = jsonable(c.Body)
	}
	status, header, data, err := r.doHTTP(ctx, method, c, body)
	if err != nil {
		return notReady(err)
	}
	if c.Status != 0 && status != c.Status {
		msg := fmt.Sprintf("%s answered %d, expected %d.", req, status, c.Status)
		if s := snippet(string(data), 200); s != "" {
			msg += " It said: " + s
		}
		msg += checkerRefused(c, status, data)
		return failed(req, msg, fmt.Sprintf("status %d", c.Status), fmt.Sprintf("status %d", status))
	}
	if res, ok := checkResponseHeaders(req, c, header); !ok {
		return res
	}
	if len(c.JSON) == 0 {
		return passed(req)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		msg := fmt.Sprintf("%s (status %d) did not answer JSON: %s", req, status, snippet(string(data), 200))
		return failed(req, msg, "a JSON body", snippet(string(data), 200))
	}
	var diffs, expected, found []string
	for _, p := range sortedKeys(c.JSON) {
		want := c.JSON[p]
		got, ok := lookup(doc, splitPath(p))
		if ok && looseEqual(want, got) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s is %s, expected %s", p, showFound(got, ok), show(want)))
		expected = append(expected, p+": "+show(want))
		found = append(found, p+": "+showFound(got, ok))
	}
	if len(diffs) == 0 {
		return passed(req)
	}
	msg := fmt.Sprintf("In the answer to %s, %s.", req, strings.Join(diffs, "; "))
	return failed(req, msg, strings.Join(expected, ", "), strings.Join(found, ", "))
}
