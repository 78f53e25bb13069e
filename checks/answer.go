package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/backstage-lab/lab/labs"
)

// checkAnswer: a knowledge answer the learner wrote in a workspace file (file + path) is one of the values
// Backstage lists live (url + among), and/or equals the lab's answer key. A list answer is compared as a
// set, and each of its items must be in the live list.
func (r *runner) checkAnswer(ctx context.Context, c labs.Check) CheckResult {
	docs, ye, err := readWorkspaceYAML(r.env.Workspace, c.File)
	if errors.Is(err, fs.ErrNotExist) {
		return failed(c.File, fmt.Sprintf("%s does not exist in your workspace.", c.File), "file "+c.File, "no such file")
	}
	if err != nil {
		return failed(c.File, fmt.Sprintf("Could not read %s: %v.", c.File, err), "a readable file", err.Error())
	}
	if ye != nil {
		return failed(ye.where(c.File), fmt.Sprintf("%s is not valid YAML: %s.", ye.where(c.File), trimDot(ye.Message)), "valid YAML", ye.Message)
	}
	if len(docs) == 0 {
		return failed(c.File, fmt.Sprintf("%s is empty: answer %s in it.", c.File, c.Path), c.Path+" answered", "an empty file")
	}
	node, line := lookupNode(docs[0], splitPath(c.Path))
	where := c.File
	if line > 0 {
		where = fmt.Sprintf("%s:%d", c.File, line)
	}
	var got any
	if node != nil {
		if err := node.Decode(&got); err != nil {
			return failed(where, fmt.Sprintf("Could not read %s in %s: %v.", c.Path, where, err), c.Path, err.Error())
		}
	}
	answers := answerItems(got)
	if len(answers) == 0 {
		return failed(where, fmt.Sprintf("%s does not answer %s yet.", c.File, c.Path), c.Path+" answered", notSet)
	}
	if c.URL != "" {
		status, data, err := r.env.API.Do(ctx, "GET", c.URL, nil)
		if err != nil {
			return notReady(err)
		}
		if status != 200 {
			return CheckResult{Verdict: NotReady, Message: fmt.Sprintf("GET %s answered %d, so the answer cannot be compared with what Backstage lists. %s", c.URL, status, whatToDo)}
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			return CheckResult{Verdict: NotReady, Message: fmt.Sprintf("GET %s did not answer JSON: %s", c.URL, snippet(string(data), 120))}
		}
		live := map[string]bool{}
		var names []string
		for _, v := range collect(doc, splitPath(c.Among)) {
			s := fmt.Sprint(v)
			if !live[s] {
				live[s] = true
				names = append(names, s)
			}
		}
		sort.Strings(names)
		for _, a := range answers {
			if live[a] {
				continue
			}
			msg := fmt.Sprintf("%s: %s is %s, which is not among what Backstage lists at GET %s (%s): %s.",
				where, c.Path, show(a), c.URL, c.Among, strings.Join(names, ", "))
			if len(names) <= 1 {
				// One live value is the one right answer, not a menu: say where to look, not what it is.
				msg = fmt.Sprintf("%s: %s is %s, but that is not what Backstage says at GET %s (%s).", where, c.Path, show(a), c.URL, c.Among)
				if len(names) == 1 && strings.EqualFold(names[0], a) {
					msg += " Mind the case."
				}
				return failed(where, msg, "what Backstage says at "+c.Among, a)
			}
			for _, n := range names {
				if strings.EqualFold(n, a) {
					msg += fmt.Sprintf(" Mind the case: Backstage writes %s.", n)
					break
				}
			}
			return failed(where, msg, "one of "+strings.Join(names, ", "), a)
		}
	}
	if c.Equals != nil && !sameAnswer(c.Equals, got) {
		msg := fmt.Sprintf("%s: %s is %s; that is not the right answer.", where, c.Path, show(got))
		return failed(where, msg, "the right answer to "+c.Path, show(got))
	}
	return passed(where)
}

// answerItems returns the answer as strings: a scalar is one item, a list its items; empty ones dropped.
func answerItems(v any) []string {
	var items []any
	switch x := normalize(v).(type) {
	case nil:
		return nil
	case []any:
		items = x
	default:
		items = []any{x}
	}
	var out []string
	for _, it := range items {
		if s := strings.TrimSpace(fmt.Sprint(it)); s != "" && it != nil {
			out = append(out, s)
		}
	}
	return out
}

// sameAnswer compares an answer with the key: lists as sets of strings, anything else loosely.
func sameAnswer(want, got any) bool {
	w, wl := normalize(want).([]any)
	g, gl := normalize(got).([]any)
	if !wl || !gl {
		if s, ok := normalize(got).(string); ok {
			got = strings.TrimSpace(s)
		}
		return looseEqual(want, got)
	}
	ws, gs := answerItems(w), answerItems(g)
	if len(ws) != len(gs) {
		return false
	}
	sort.Strings(ws)
	sort.Strings(gs)
	for i := range ws {
		if ws[i] != gs[i] {
			return false
		}
	}
	return true
}

// collect follows a dotted path where * stands for every item of a list (or every value of a map) and
// returns all values found.
func collect(v any, segs []string) []any {
	if len(segs) == 0 {
		return []any{v}
	}
	if key, want, ok := itemFilter(segs[0]); ok {
		return collectWhere(v, key, want, segs[1:])
	}
	if segs[0] != "*" {
		next, ok := lookup(v, segs[:1])
		if !ok {
			return nil
		}
		return collect(next, segs[1:])
	}
	var out []any
	switch x := normalize(v).(type) {
	case []any:
		for _, it := range x {
			out = append(out, collect(it, segs[1:])...)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = append(out, collect(x[k], segs[1:])...)
		}
	}
	return out
}
