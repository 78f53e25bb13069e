// Package workshop runs instructor-led workshops: a small HTTP server on the instructor's machine that
// learners join with a code, a live dashboard of every learner's task verdicts, and the learner-side
// client that reports `lab check` results to it (queued on disk while the server is unreachable).
// It also serves the room's image bundle and downloads it resumably. See README.md in this directory.
package workshop

import (
	"errors"
	"time"
)

// Verdicts a learner can report, per task and per check run (the same words as `lab check --json`).
const (
	Pass     = "pass"
	Fail     = "fail"
	NotReady = "not-ready"
)

// Errors callers tell apart with errors.Is.
var (
	ErrNoWorkshop   = errors.New("no workshop in this database")
	ErrNameTaken    = errors.New("a learner with this name has already joined")
	ErrUnauthorized = errors.New("unknown or missing token")
	ErrClosed       = errors.New("the workshop is closed")
	ErrBadCode      = errors.New("wrong join code")
	ErrNotJoined    = errors.New("not joined to a workshop")
)

// Lab is what a workshop knows of one lab: its tasks, in order. It is copied into the workshop's
// database when the workshop is created, so its results can be read and exported with any build of lab.
type Lab struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Tasks []Task `json:"tasks"`
}

// Task is one task of a lab.
type Task struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Workshop is one run of a workshop: its labs, join code and instructor token.
type Workshop struct {
	ID              int64     `json:"id"`
	Title           string    `json:"title"`
	Labs            []Lab     `json:"labs"`
	JoinCode        string    `json:"joinCode"`
	InstructorToken string    `json:"-"`
	CreatedAt       time.Time `json:"createdAt"`
	ClosedAt        time.Time `json:"closedAt,omitzero"`
}

// Closed reports whether the instructor has closed the workshop.
func (w *Workshop) Closed() bool { return !w.ClosedAt.IsZero() }

func (w *Workshop) labSlugs() []string {
	out := []string{}
	for _, l := range w.Labs {
		out = append(out, l.Slug)
	}
	return out
}

func (w *Workshop) lab(slug string) *Lab {
	for i := range w.Labs {
		if w.Labs[i].Slug == slug {
			return &w.Labs[i]
		}
	}
	return nil
}

// Learner is a learner who joined a workshop.
type Learner struct {
	ID         int64     `json:"id"`
	WorkshopID int64     `json:"workshopId"`
	Name       string    `json:"name"`
	JoinedAt   time.Time `json:"joinedAt"`
}

// Result is what a learner's `lab check` reports: task verdicts, timings and hints used, never files or
// check messages (which may quote them).
type Result struct {
	// ID is chosen by the learner's lab, unique per check run: a result sent twice is stored once.
	ID      string `json:"id"`
	Lab     string `json:"lab"`
	Verdict string `json:"verdict"`
	// CheckedAt is when the check ran, by the learner's clock (informational).
	CheckedAt time.Time `json:"checkedAt"`
	// AgeMS is how long ago the check ran when the result was sent, so the server dates it by its own
	// clock (checked = received - age) whatever the learner's clock says.
	AgeMS      int64        `json:"ageMs"`
	DurationMS int64        `json:"durationMs"`
	Watch      bool         `json:"watch,omitempty"`
	Tasks      []TaskResult `json:"tasks"`
}

// TaskResult is one task's verdict in a Result.
type TaskResult struct {
	ID           string `json:"id"`
	Verdict      string `json:"verdict"`
	ChecksPassed int    `json:"checksPassed"`
	Checks       int    `json:"checks"`
	HintsUsed    int    `json:"hintsUsed"`
}

// Cell is the state of one learner's task on the dashboard.
type Cell struct {
	Verdict      string    `json:"verdict"`
	ChecksPassed int       `json:"checksPassed"`
	Checks       int       `json:"checks"`
	Attempts     int       `json:"attempts"` // check runs that included the task
	HintsUsed    int       `json:"hintsUsed"`
	FirstPassAt  time.Time `json:"firstPassAt,omitzero"`
	LastAt       time.Time `json:"lastAt"`
	// Seconds is the time spent on the task: from the learner's previous first pass in the lab (or the
	// lab's first check) to this task's first pass. Zero until it passes.
	Seconds int64 `json:"seconds"`
}

// Row is one learner's line on the dashboard.
type Row struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	LastVerdict    string    `json:"lastVerdict,omitempty"`
	Reports        int       `json:"reports"`
	JoinedAt       time.Time `json:"joinedAt"`
	LastSeenAt     time.Time `json:"lastSeenAt,omitzero"`
	LastProgressAt time.Time `json:"lastProgressAt"` // the newest first pass, else the join
	// LabStarts is when each lab began for the learner: its first check.
	LabStarts map[string]time.Time `json:"labStarts"`
	// Cells is keyed "<lab>/<task>".
	Cells map[string]*Cell `json:"cells"`
}

// Board is the whole dashboard: the workshop and a row per learner.
type Board struct {
	Workshop      *Workshop `json:"workshop"`
	Now           time.Time `json:"now"`
	StaleAfterSec int64     `json:"staleAfterSec"`
	Learners      []*Row    `json:"learners"`
}

// CellKey is the key of a task in Row.Cells.
func CellKey(lab, task string) string { return lab + "/" + task }
