package checks

import (
	"context"
	"errors"
	"testing"

	"github.com/backstage-lab/lab/labs"
)

// fakeExec answers commands by the container's role and the program name.
type fakeExec struct {
	code int
	out  string
	err  error
	// got records the last call.
	role string
	cmd  []string
}

func (e *fakeExec) exec(_ context.Context, role string, cmd []string) (int, string, error) {
	e.role, e.cmd = role, cmd
	return e.code, e.out, e.err
}

// runCmdCheck runs one cmd check through Run with the given Exec (nil: none).
func runCmdCheck(t *testing.T, exec func(context.Context, string, []string) (int, string, error), c labs.Check) CheckResult {
	t.Helper()
	f := newFake()
	f.add(location(t, "catalog/orders.yaml"))
	c.Type = "cmd"
	rep, err := Run(t.Context(), Env{API: f, Exec: exec}, testLab(c), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep.Tasks[0].Checks[0]
}

func TestCmdCheck(t *testing.T) {
	psql := []string{"psql", "-U", "backstage", "-d", "postgres", "-Atc", "select datname from pg_database"}
	one := 1
	tests := []struct {
		name    string
		exec    fakeExec
		check   labs.Check
		verdict Verdict
		msg     []string
	}{
		{
			name:    "exit 0 and output matches",
			exec:    fakeExec{out: "backstage\nbackstage_plugin_catalog\npostgres\n"},
			check:   labs.Check{Container: "postgres", Command: psql, Stdout: `(?m)^backstage_plugin_catalog$`},
			verdict: Pass,
		},
		{
			name:    "output does not match",
			exec:    fakeExec{out: "backstage\npostgres\n"},
			check:   labs.Check{Container: "postgres", Command: psql, Stdout: `(?m)^backstage_plugin_catalog$`, Explain: "Restart Backstage."},
			verdict: Fail,
			msg: []string{
				"In the postgres container, psql -U backstage -d postgres -Atc 'select datname from pg_database' printed: backstage postgres.",
				"Expected output matching (?m)^backstage_plugin_catalog$.",
				"Restart Backstage.",
			},
		},
		{
			name:    "wrong exit code",
			exec:    fakeExec{code: 2, out: "psql: error: database \"x\" does not exist\n"},
			check:   labs.Check{Container: "postgres", Command: psql},
			verdict: Fail,
			msg:     []string{"exited with code 2, expected 0. It printed: psql: error: database \"x\" does not exist."},
		},
		{
			name:    "expected non-zero exit code",
			exec:    fakeExec{code: 1},
			check:   labs.Check{Container: "backstage", Command: []string{"grep", "-q", "secret", "/workspace/app-config.yaml"}, ExitCode: &one},
			verdict: Pass,
		},
		{
			name:    "expected non-zero exit code, got 0",
			exec:    fakeExec{code: 0, out: "3:  token: secret\n"},
			check:   labs.Check{Container: "backstage", Command: []string{"grep", "-n", "secret", "/workspace/app-config.yaml"}, ExitCode: &one},
			verdict: Fail,
			msg:     []string{"exited with code 0, expected 1. It printed: 3: token: secret."},
		},
		{
			name:    "program missing is not the learner's fault",
			exec:    fakeExec{code: 127, out: "exec: psql: not found"},
			check:   labs.Check{Container: "postgres", Command: psql},
			verdict: NotReady,
			msg:     []string{"could not run in the postgres container (exit code 127)"},
		},
		{
			name:    "engine error",
			exec:    fakeExec{err: errors.New("container is not running")},
			check:   labs.Check{Container: "postgres", Command: psql},
			verdict: NotReady,
			msg:     []string{"Could not run a command in the postgres container: container is not running."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.exec
			got := runCmdCheck(t, e.exec, tc.check)
			assertResult(t, got, tc.verdict, "", tc.msg...)
			if e.role != tc.check.Container || len(e.cmd) != len(tc.check.Command) {
				t.Errorf("ran %v in %q, want %v in %q", e.cmd, e.role, tc.check.Command, tc.check.Container)
			}
		})
	}
}

func TestCmdCheckWithoutExec(t *testing.T) {
	got := runCmdCheck(t, nil, labs.Check{Container: "postgres", Command: []string{"pg_isready"}})
	assertResult(t, got, NotReady, "", "cannot run commands in this session's containers")
}

func TestCmdCheckName(t *testing.T) {
	c := labs.Check{Type: "cmd", Container: "postgres", Command: []string{"psql", "-Atc", "select 1"}}
	if got, want := defaultName(c), "postgres: psql -Atc 'select 1'"; got != want {
		t.Errorf("defaultName = %q, want %q", got, want)
	}
}
