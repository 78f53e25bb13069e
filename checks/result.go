package checks

// Verdict is the outcome of a check, a task or a whole run.
type Verdict string

const (
	// Pass: the learner's work does what the check asks.
	Pass Verdict = "pass"
	// Fail: it does not; the message says what to change.
	Fail Verdict = "fail"
	// NotReady: the environment, not the learner, is at fault (Backstage not started, not answering,
	// a location not loaded yet). Nothing was judged.
	NotReady Verdict = "not-ready"
)

// Exit codes of `lab check` (the CLI maps a Report to them with Report.ExitCode).
const (
	ExitPass      = 0 // every selected task passed
	ExitToolError = 1 // lab itself failed (Run returned an error)
	ExitFailed    = 3 // the checks ran and some tasks failed
	ExitNotReady  = 4 // the environment is not ready; nothing (or not everything) could be judged
)

// Report is the result of one `lab check` run. Its JSON form is a documented, stable contract
// (see checks/README.md).
type Report struct {
	Lab        string       `json:"lab"`
	Verdict    Verdict      `json:"verdict"`
	Passed     int          `json:"passed"` // tasks that passed
	Total      int          `json:"total"`  // tasks checked
	Tasks      []TaskResult `json:"tasks"`
	Problems   []string     `json:"problems"`           // workspace files that do not parse, as "file:line: message"
	NotReady   string       `json:"notReady,omitempty"` // why the environment is not ready, and what to do
	DurationMS int64        `json:"durationMs"`
}

// TaskResult is the verdict of one task: pass when all of its checks pass.
type TaskResult struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Verdict Verdict       `json:"verdict"`
	Checks  []CheckResult `json:"checks"`
}

// CheckResult is the verdict of one check. On failure Message says, in plain sentences, what was
// expected, what was found and where; Expected, Found and Where repeat it for machines.
type CheckResult struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Verdict  Verdict `json:"verdict"`
	Message  string  `json:"message,omitempty"`
	Expected string  `json:"expected,omitempty"`
	Found    string  `json:"found,omitempty"`
	Where    string  `json:"where,omitempty"` // entity ref and/or workspace file:line
	Line     int     `json:"line,omitempty"`  // line of the check in lab.yaml

	// link is the entity's page in the Backstage UI; runOnce appends it to a failure message last,
	// after the author's explain.
	link string
}

// ExitCode maps the report's verdict to the exit-code contract.
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case Pass:
		return ExitPass
	case Fail:
		return ExitFailed
	case NotReady:
		return ExitNotReady
	}
	return ExitToolError
}
