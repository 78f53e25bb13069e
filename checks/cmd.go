package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/backstage-lab/lab/labs"
)

// checkCmd: a command run inside one of the session's containers (e.g. psql in the postgres container)
// exits with the expected code (0 unless exitCode is set) and its output matches the stdout regexp.
// For what only the running system can show and no REST endpoint tells (the databases Backstage made).
func (r *runner) checkCmd(ctx context.Context, c labs.Check) CheckResult {
	where := cmdName(c)
	if r.env.Exec == nil {
		return CheckResult{Verdict: NotReady, Where: where, Message: fmt.Sprintf(
			"This check runs a command in the %s container, and lab cannot run commands in this session's containers. %s", c.Container, whatToDo)}
	}
	code, out, err := r.env.Exec(ctx, c.Container, c.Command)
	if err != nil {
		if ctx.Err() != nil {
			return CheckResult{Verdict: NotReady, Where: where, Message: fmt.Sprintf(
				"%s did not finish in time. %s", where, whatToDo)}
		}
		return CheckResult{Verdict: NotReady, Where: where, Message: fmt.Sprintf(
			"Could not run a command in the %s container: %v. %s", c.Container, err, whatToDo)}
	}
	want := 0
	if c.ExitCode != nil {
		want = *c.ExitCode
	}
	printed := "nothing"
	if s := snippet(out, 300); s != "" {
		printed = s
	}
	if code != want {
		if (code == 126 || code == 127) && want != code {
			// The program is missing or cannot run: the lab or the image is at fault, not the learner.
			return CheckResult{Verdict: NotReady, Where: where, Message: fmt.Sprintf(
				"%s could not run in the %s container (exit code %d): %s", shellQuote(c.Command), c.Container, code, printed)}
		}
		msg := fmt.Sprintf("In the %s container, %s exited with code %d, expected %d. It printed: %s.",
			c.Container, shortCommand(c.Command), code, want, trimDot(printed))
		return failed(where, msg, fmt.Sprintf("exit code %d", want), fmt.Sprintf("exit code %d", code))
	}
	if c.Stdout != "" {
		re, err := regexp.Compile(c.Stdout)
		if err != nil {
			return failed(where, fmt.Sprintf("The lab's stdout pattern %q is not a regular expression: %v.", c.Stdout, err), "", "")
		}
		if !re.MatchString(out) {
			msg := fmt.Sprintf("In the %s container, %s printed: %s. Expected output matching %s.",
				c.Container, shortCommand(c.Command), trimDot(printed), c.Stdout)
			return failed(where, msg, "output matching "+c.Stdout, printed)
		}
	}
	return passed(where)
}

// cmdName describes a cmd check: where it runs and (the start of) what.
func cmdName(c labs.Check) string {
	s := c.Container + ": " + shellQuote(c.Command)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

// shortCommand renders a command for a message: a long script is cut, its output says what it found.
func shortCommand(cmd []string) string {
	s := shellQuote(cmd)
	if r := []rune(s); len(r) > 70 {
		s = string(r[:69]) + "…"
	}
	return s
}

// shellQuote renders a command line the way a learner would type it.
func shellQuote(cmd []string) string {
	parts := make([]string, len(cmd))
	for i, a := range cmd {
		if a != "" && !strings.ContainsAny(a, " \t\n\"'$`\\|&;<>()*?!{}[]#~") {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}
