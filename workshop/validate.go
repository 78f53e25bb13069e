package workshop

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of what the server accepts.
const (
	MaxNameLen              = 40
	MaxResultsPerPost       = 100
	MaxTasksPerResult       = 50
	maxHints                = 100
	maxChecks               = 1000
	maxDurationMS           = int64(60 * 60 * 1000)        // one check run: an hour at most
	maxAgeMS                = int64(14 * 24 * 3600 * 1000) // a queued result: two weeks at most
	maxResultIDLen          = 64
	maxJoinBody       int64 = 4 << 10
)

// CleanName trims a learner's name and checks it: 1–40 letters, digits, spaces and . - _ ' starting
// with a letter or digit (so it is safe in a CSV cell and a terminal).
func CleanName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxNameLen {
		return "", fmt.Errorf("a name has 1 to %d characters", MaxNameLen)
	}
	for i, r := range name {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (unicode.IsMark(r) || strings.ContainsRune(" .-_'", r)))
		if !ok {
			return "", fmt.Errorf("a name starts with a letter or digit and has only letters, digits, spaces and . - _ '")
		}
	}
	return name, nil
}

func validResultID(id string) bool {
	if id == "" || len(id) > maxResultIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validVerdict(v string) bool { return v == Pass || v == Fail || v == NotReady }

// validate checks a result against the workshop's labs.
func (w *Workshop) validate(r *Result) error {
	if !validResultID(r.ID) {
		return fmt.Errorf("id must be 1-%d letters, digits, - or _", maxResultIDLen)
	}
	lab := w.lab(r.Lab)
	if lab == nil {
		return fmt.Errorf("lab %q is not part of this workshop", r.Lab)
	}
	if !validVerdict(r.Verdict) {
		return fmt.Errorf("verdict %q is not pass, fail or not-ready", r.Verdict)
	}
	if r.DurationMS < 0 || r.DurationMS > maxDurationMS {
		return fmt.Errorf("durationMs out of range")
	}
	if r.AgeMS < 0 || r.AgeMS > maxAgeMS {
		return fmt.Errorf("ageMs out of range")
	}
	if len(r.Tasks) > MaxTasksPerResult {
		return fmt.Errorf("more than %d tasks", MaxTasksPerResult)
	}
	seen := map[string]bool{}
	for _, t := range r.Tasks {
		known := false
		for _, lt := range lab.Tasks {
			known = known || lt.ID == t.ID
		}
		if !known {
			return fmt.Errorf("lab %s has no task %q", r.Lab, t.ID)
		}
		if seen[t.ID] {
			return fmt.Errorf("task %q twice", t.ID)
		}
		seen[t.ID] = true
		if !validVerdict(t.Verdict) {
			return fmt.Errorf("task %s: verdict %q is not pass, fail or not-ready", t.ID, t.Verdict)
		}
		if t.HintsUsed < 0 || t.HintsUsed > maxHints || t.Checks < 0 || t.Checks > maxChecks || t.ChecksPassed < 0 || t.ChecksPassed > t.Checks {
			return fmt.Errorf("task %s: counts out of range", t.ID)
		}
	}
	return nil
}
