package labs

import (
	"fmt"
	"strings"
)

// validateAnswer checks the fields of an answer check: the answer's file and path, and something to
// compare it with (the answer key, and/or a live list: url + among).
func validateAnswer(c Check) []string {
	var out []string
	if strings.TrimSpace(c.File) == "" {
		out = append(out, `an answer check needs "file"`)
	}
	if strings.TrimSpace(c.Path) == "" {
		out = append(out, `an answer check needs "path"`)
	}
	if (c.URL == "") != (c.Among == "") {
		out = append(out, "url and among go together: the GET path of a live list and the path of the values in it")
	}
	if c.URL != "" && !strings.HasPrefix(c.URL, "/") {
		out = append(out, fmt.Sprintf("url %q must be a path starting with /", c.URL))
	}
	if c.Equals == nil && c.URL == "" {
		out = append(out, "an answer check needs equals (the answer key) or url + among (a live list), or both")
	}
	return out
}

// dryRunStepStatuses are the ways a scaffolder step can end, as its log reports them.
var dryRunStepStatuses = []string{"completed", "skipped", "failed"}

// validateDryRunSteps checks expect.steps of a dry-run check.
func validateDryRunSteps(e *DryRunExpect) []string {
	var out []string
	for id, status := range e.Steps {
		ok := false
		for _, s := range dryRunStepStatuses {
			ok = ok || s == status
		}
		if !ok {
			out = append(out, fmt.Sprintf("expect.steps.%s is %q; expected one of %s", id, status, strings.Join(dryRunStepStatuses, ", ")))
		}
	}
	return out
}
