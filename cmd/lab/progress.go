package main

import (
	"path/filepath"
	"time"

	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
)

// progress is what lab remembers of a learner's work on one lab, in the state dir (mode 0600).
type progress struct {
	Tasks map[string]*taskProgress `json:"tasks"`
}

type taskProgress struct {
	Passed      bool      `json:"passed"`
	FirstPassed time.Time `json:"first_passed,omitzero"`
	HintsShown  int       `json:"hints_shown"`
}

// progressJSON is the documented summary shape in `lab list --json` and `lab status --json`.
type progressJSON struct {
	Done    int `json:"done"`
	Tasks   int `json:"tasks"`
	Percent int `json:"percent"`
}

func progressFile(lab string) string { return filepath.Join("progress", lab+".json") }

func readProgress(state provision.StateDir, lab string) *progress {
	p := &progress{}
	_ = state.ReadJSON(progressFile(lab), p) // unreadable progress starts over; it is not precious
	if p.Tasks == nil {
		p.Tasks = map[string]*taskProgress{}
	}
	return p
}

func (p *progress) task(id string) *taskProgress {
	if p.Tasks[id] == nil {
		p.Tasks[id] = &taskProgress{}
	}
	return p.Tasks[id]
}

func loadProgress(state provision.StateDir, lab *labs.Lab) progressJSON {
	p := readProgress(state, lab.Slug)
	out := progressJSON{Tasks: len(lab.Tasks)}
	for _, t := range lab.Tasks {
		if tp := p.Tasks[t.ID]; tp != nil && tp.Passed {
			out.Done++
		}
	}
	if out.Tasks > 0 {
		out.Percent = out.Done * 100 / out.Tasks
	}
	return out
}
