package provision

import "time"

// Status is where a step of a long operation is.
type Status string

// Statuses of a step.
const (
	StatusStart    Status = "start"
	StatusProgress Status = "progress" // a line of detail while the step runs (e.g. a build step)
	StatusDone     Status = "done"
	StatusWarn     Status = "warn"
	StatusFail     Status = "fail"
)

// Event is one progress report of a long operation (image build, start, wait).
type Event struct {
	Step    string        `json:"step"`
	Status  Status        `json:"status"`
	Text    string        `json:"text,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns,omitempty"`
}

// Reporter receives progress events. The CLI picks a renderer (TTY, plain, JSON lines); tests record them.
type Reporter interface {
	Event(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Event calls f.
func (f ReporterFunc) Event(e Event) { f(e) }

// Discard is a Reporter that drops every event.
var Discard Reporter = ReporterFunc(func(Event) {})

// step reports the start of a step and returns a function that reports its end.
func step(r Reporter, name, text string) func(err error) {
	start := time.Now()
	r.Event(Event{Step: name, Status: StatusStart, Text: text})
	return func(err error) {
		ev := Event{Step: name, Status: StatusDone, Text: text, Elapsed: time.Since(start)}
		if err != nil {
			ev.Status, ev.Text = StatusFail, err.Error()
		}
		r.Event(ev)
	}
}
