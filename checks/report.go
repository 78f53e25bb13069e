package checks

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// ANSI colours for WriteText.
const (
	colorReset  = "\x1b[0m"
	colorRed    = "\x1b[31m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorDim    = "\x1b[2m"
)

// symbol returns the mark and colour of a verdict.
func symbol(v Verdict) (string, string) {
	switch v {
	case Pass:
		return "✓", colorGreen
	case Fail:
		return "✗", colorRed
	}
	return "!", colorYellow
}

// WriteText writes the report for a person: problems in workspace files first, a line per task, the
// failing checks of a task indented under it, and a summary line. color adds ANSI colours.
func WriteText(w io.Writer, r *Report, color bool) error {
	tw := &textWriter{w: w, color: color}
	if len(r.Problems) > 0 {
		tw.line("", "Problems in your workspace files:")
		for _, p := range r.Problems {
			tw.line(colorRed, "  "+p)
		}
		tw.line("", "")
	}
	gateFailed := r.Verdict == NotReady && allEmpty(r.Tasks)
	if !gateFailed {
		width := 0
		for _, t := range r.Tasks {
			width = max(width, len(t.ID))
		}
		for _, t := range r.Tasks {
			mark, c := symbol(t.Verdict)
			tw.line(c, fmt.Sprintf("%s %-*s  %s", mark, width, t.ID, t.Title))
			for _, ch := range t.Checks {
				if ch.Verdict == Pass {
					continue
				}
				mark, c := symbol(ch.Verdict)
				tw.line(c, "    "+mark+" "+ch.Name)
				if ch.Message != "" {
					tw.line("", "      "+ch.Message)
				}
				tw.field("expected", ch.Expected)
				tw.field("found", ch.Found)
				tw.field("where", ch.Where)
			}
		}
		tw.line("", "")
	}
	if r.NotReady != "" {
		tw.line(colorYellow, "! Environment not ready: "+r.NotReady)
	}
	summary := fmt.Sprintf("%d/%d tasks passed", r.Passed, r.Total)
	switch r.Verdict {
	case Pass:
		tw.line(colorGreen, summary)
	case Fail:
		tw.line(colorRed, summary)
	default:
		tw.line(colorYellow, summary+" (environment not ready)")
	}
	return tw.err
}

func allEmpty(tasks []TaskResult) bool {
	for _, t := range tasks {
		if len(t.Checks) > 0 {
			return false
		}
	}
	return true
}

// textWriter writes lines, remembering the first error.
type textWriter struct {
	w     io.Writer
	color bool
	err   error
}

func (t *textWriter) line(color, s string) {
	if t.err != nil {
		return
	}
	if t.color && color != "" && s != "" {
		s = color + s + colorReset
	}
	_, t.err = fmt.Fprintln(t.w, s)
}

func (t *textWriter) field(name, value string) {
	if value == "" {
		return
	}
	label := fmt.Sprintf("      %-9s", name+":")
	if t.color {
		label = colorDim + label + colorReset
	}
	t.line("", label+" "+value)
}

// WriteJSON writes the report as indented JSON (the stable form documented in README.md).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// JUnit XML: one testsuite for the lab, one testcase per task; a failing task has a <failure>, a task
// that could not be judged an <error>.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML for CI systems.
func WriteJUnit(w io.Writer, r *Report) error {
	secs := fmt.Sprintf("%.3f", float64(r.DurationMS)/1000)
	suite := junitSuite{Name: r.Lab, Tests: len(r.Tasks), Time: secs}
	var out []string
	if len(r.Problems) > 0 {
		out = append(out, "Problems in workspace files:\n  "+strings.Join(r.Problems, "\n  "))
	}
	if r.NotReady != "" {
		out = append(out, "Environment not ready: "+r.NotReady)
	}
	suite.SystemOut = strings.Join(out, "\n")
	for _, t := range r.Tasks {
		tc := junitCase{Name: t.ID + ": " + t.Title, Classname: r.Lab}
		var first string
		var details []string
		for _, c := range t.Checks {
			if c.Verdict == Pass {
				continue
			}
			if first == "" {
				first = c.Message
			}
			d := fmt.Sprintf("%s %s: %s", string(c.Verdict), c.Name, c.Message)
			for _, f := range [][2]string{{"expected", c.Expected}, {"found", c.Found}, {"where", c.Where}} {
				if f[1] != "" {
					d += "\n  " + f[0] + ": " + f[1]
				}
			}
			details = append(details, d)
		}
		switch t.Verdict {
		case Fail:
			suite.Failures++
			tc.Failure = &junitProblem{Message: first, Type: string(Fail), Text: strings.Join(details, "\n")}
		case NotReady:
			suite.Errors++
			if first == "" {
				first = r.NotReady
			}
			tc.Error = &junitProblem{Message: first, Type: string(NotReady), Text: strings.Join(details, "\n")}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Name: r.Lab, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: secs, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}
