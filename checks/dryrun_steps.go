package checks

import (
	"fmt"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
)

// stepProblem is one unmet expectation about how a step of a dry-run ended.
type stepProblem struct{ problem, expected, found string }

// dryRunStepStatus returns how each step of a dry-run ended, from the log: the scaffolder logs a status
// (processing, then completed, skipped or failed) with the step's id.
func dryRunStepStatus(log []backstage.DryRunLog) (map[string]string, []string) {
	status := map[string]string{}
	var order []string
	for _, l := range log {
		id, st := l.Body.StepID, l.Body.Status
		if id == "" || st == "" {
			continue
		}
		if _, ok := status[id]; !ok {
			order = append(order, id)
		}
		status[id] = st
	}
	return status, order
}

// dryRunStepProblems compares expect.steps (step id → completed, skipped or failed) with the log.
func dryRunStepProblems(want map[string]string, log []backstage.DryRunLog) []stepProblem {
	if len(want) == 0 {
		return nil
	}
	got, order := dryRunStepStatus(log)
	seen := make([]string, 0, len(order))
	for _, id := range order {
		seen = append(seen, id+": "+got[id])
	}
	ran := strings.Join(seen, ", ")
	if ran == "" {
		ran = "no steps"
	}
	var out []stepProblem
	for _, id := range sortedKeys(want) {
		w := want[id]
		g, ok := got[id]
		switch {
		case !ok:
			out = append(out, stepProblem{
				fmt.Sprintf("it has no step with id %s (its steps ended: %s)", id, ran),
				"step " + id + " " + w, ran})
		case !strings.EqualFold(g, w):
			what := map[string]string{
				"completed": "ran",
				"skipped":   "was skipped",
				"failed":    "failed",
			}
			desc := what[g]
			if desc == "" {
				desc = "ended " + g
			}
			should := map[string]string{
				"completed": "it should have run",
				"skipped":   "it should have been skipped",
				"failed":    "it should have failed",
			}[strings.ToLower(w)]
			out = append(out, stepProblem{
				fmt.Sprintf("step %s %s, but %s", id, desc, should),
				"step " + id + " " + w, "step " + id + " " + g})
		}
	}
	return out
}
