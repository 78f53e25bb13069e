package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
)

// settleWindow is how long after the last edit in the workspace failing checks are retried: the catalog
// needs a second or two to process an edit even after lab asks it to refresh. In steady state (no edit
// for longer than this) every check runs once.
const settleWindow = 4 * time.Second

type checkOptions struct {
	Lab   string
	Tasks []string
	JSON  bool
	JUnit string
	Watch bool
}

func newCheckCmd(f *cli.Factory) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [task...]",
		Short: "Check your work: a verdict per task, judged by what Backstage made of your files",
		Long: `Check your work task by task against the running Backstage and your workspace files.

Exit codes: 0 every task passed, 3 some tasks failed, 4 the environment is not ready (not your fault:
see ` + "`lab status`" + `), 1 lab itself failed, 2 usage error.`,
		Example: `  lab check
  lab check owner-ref          # only this task
  lab check --watch            # re-check on every save
  lab check --json
  lab check --junit report.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tasks = args
			if o.Watch && (o.JSON || o.JUnit != "") {
				return cli.FlagErrorf("--watch prints for people: it cannot be combined with --json or --junit")
			}
			return checkRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "also write a JUnit XML report to this file")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "re-check whenever a workspace file changes")
	return cmd
}

// checkTarget is a running session with its lab definition.
type checkTarget struct {
	session *provision.Session
	lab     *labs.Lab
	env     checks.Env
	state   provision.StateDir
	// restarted is when applyConfig last restarted Backstage: the catalog then re-reads its files, so
	// checks settle from there as after an edit.
	restarted time.Time
}

func openTarget(ctx context.Context, f *cli.Factory, labSlug string) (*checkTarget, error) {
	eng, err := f.Engine(ctx)
	if err != nil {
		return nil, err
	}
	s, err := resolveSession(ctx, f, eng, labSlug)
	if err != nil {
		return nil, err
	}
	lab, err := sessionLab(f, s)
	if err != nil {
		return nil, err
	}
	state, err := f.State()
	if err != nil {
		return nil, err
	}
	return &checkTarget{session: s, lab: lab, state: state, env: checkEnv(eng, s)}, nil
}

func sessionEnv(s *provision.Session) checks.Env {
	client := backstage.New(s.URL(), s.Token)
	return checks.Env{
		API:       client,
		Workspace: s.Workspace,
		UserToken: client.UserToken,
		UIBaseURL: s.URL(),
	}
}

// checkEnv is sessionEnv plus what only checks need: running commands in the session's containers
// (cmd checks) through the engine.
func checkEnv(eng provision.Engine, s *provision.Session) checks.Env {
	env := sessionEnv(s)
	env.Exec = func(ctx context.Context, role string, cmd []string) (int, string, error) {
		return execIn(ctx, eng, s, role, cmd)
	}
	return env
}

// execIn runs cmd in the session's container of the given role and gives up when ctx ends, even if the
// engine call does not notice.
func execIn(ctx context.Context, eng provision.Engine, s *provision.Session, role string, cmd []string) (int, string, error) {
	var c *provision.Container
	switch role {
	case provision.RoleBackstage:
		c = s.Backstage
	case provision.RolePostgres:
		c = s.Postgres
	}
	if c == nil || c.ID == "" {
		return -1, "", fmt.Errorf("session %s has no %s container", s.ID, role)
	}
	type result struct {
		code int
		out  string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, out, err := eng.Exec(ctx, c.ID, cmd)
		done <- result{code, out, err}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-ctx.Done():
		return -1, "", ctx.Err()
	}
}

// lastChange is the newest modification time of any file in the workspace.
func lastChange(dir string) time.Time {
	var newest time.Time
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != dir {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest
}

// applyConfig restarts Backstage when the learner changed the lab's config file since it started, so
// that checks judge the configuration as written. A configuration Backstage rejects is the learner's to
// fix: the error carries Backstage's own log lines.
func (t *checkTarget) applyConfig(ctx context.Context, f *cli.Factory) error {
	if !provision.WorkspaceConfigChanged(t.lab, t.session.Workspace, t.state) {
		return nil
	}
	fmt.Fprintf(f.IO.ErrOut, "%s changed: restarting Backstage to apply it ...\n", t.lab.Fixtures.WorkspaceConfig)
	eng, err := f.Engine(ctx)
	if err != nil {
		return err
	}
	s, err := provision.Restart(ctx, eng, t.session, provision.StartOptions{Lab: t.lab, State: t.state, Wait: 2 * time.Minute})
	if err != nil {
		return fmt.Errorf("backstage did not start with your %s: %w\nFix the file and run lab check again", t.lab.Fixtures.WorkspaceConfig, err)
	}
	t.session = s
	t.env = checkEnv(eng, s)
	t.restarted = time.Now()
	return nil
}

func (t *checkTarget) run(ctx context.Context, tasks []string) (*checks.Report, error) {
	changed := lastChange(t.session.Workspace)
	if t.restarted.After(changed) {
		changed = t.restarted
	}
	rep, err := checks.Run(ctx, t.env, t.lab, checks.Options{Tasks: tasks, Changed: changed, SettleUntil: changed.Add(settleWindow)})
	if err != nil {
		return nil, err
	}
	t.record(rep)
	return rep, nil
}

// record saves each task's verdict as the learner's progress.
func (t *checkTarget) record(rep *checks.Report) {
	if rep.Verdict == checks.NotReady {
		return
	}
	p := readProgress(t.state, t.lab.Slug)
	for _, tr := range rep.Tasks {
		tp := p.task(tr.ID)
		tp.Passed = tr.Verdict == checks.Pass
		if tp.Passed && tp.FirstPassed.IsZero() {
			tp.FirstPassed = time.Now()
		}
	}
	_ = t.state.WriteJSON(progressFile(t.lab.Slug), p) // progress is a convenience: never fail a check over it
}

func checkRun(ctx context.Context, f *cli.Factory, o *checkOptions) error {
	t, err := openTarget(ctx, f, o.Lab)
	if err != nil {
		return err
	}
	if o.Watch {
		return watch(ctx, f, t, o)
	}
	if err := t.applyConfig(ctx, f); err != nil {
		return err
	}
	rep, err := t.run(ctx, o.Tasks)
	if err != nil {
		return err
	}
	if o.JUnit != "" {
		if err := writeJUnit(o.JUnit, rep); err != nil {
			return err
		}
	}
	if o.JSON {
		if err := checks.WriteJSON(f.IO.Out, rep); err != nil {
			return err
		}
	} else {
		if err := checks.WriteText(f.IO.Out, rep, f.IO.OutTTY && f.IO.Color); err != nil {
			return err
		}
		printNext(f, t, rep)
	}
	reportToWorkshop(ctx, f, t, rep, false)
	return cli.Exit(rep.ExitCode())
}

func writeJUnit(path string, rep *checks.Report) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := checks.WriteJUnit(out, rep); err != nil {
		out.Close()
		return fmt.Errorf("junit report: %w", err)
	}
	return out.Close()
}

// printNext tells the learner what to do after a check.
func printNext(f *cli.Factory, t *checkTarget, rep *checks.Report) {
	switch rep.Verdict {
	case checks.Pass:
		if rep.Total == len(t.lab.Tasks) {
			fmt.Fprintf(f.IO.ErrOut, "\nAll tasks of %s pass. Well done! Next: `lab list` for another lab, `lab destroy` to clean up.\n", t.lab.Slug)
		}
	case checks.Fail:
		for _, tr := range rep.Tasks {
			if tr.Verdict != checks.Pass {
				fmt.Fprintf(f.IO.ErrOut, "\nStuck on %s? `lab hint %s` shows a hint.\n", tr.ID, tr.ID)
				return
			}
		}
	}
}

// watch re-checks whenever a workspace file changes (polling modification times: no extra
// dependency, works on every file system and in bind mounts), debounced.
func watch(ctx context.Context, f *cli.Factory, t *checkTarget, o *checkOptions) error {
	const poll, debounce = 150 * time.Millisecond, 150 * time.Millisecond
	seen := time.Time{}
	for {
		changed := lastChange(t.session.Workspace)
		if changed.After(seen) && time.Since(changed) >= debounce {
			seen = changed
			if f.IO.OutTTY {
				fmt.Fprint(f.IO.Out, "\033[H\033[2J")
			}
			err := t.applyConfig(ctx, f)
			var rep *checks.Report
			if err == nil {
				rep, err = t.run(ctx, o.Tasks)
			}
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				fmt.Fprintf(f.IO.ErrOut, "lab: %v\n", err)
			} else {
				_ = checks.WriteText(f.IO.Out, rep, f.IO.OutTTY && f.IO.Color)
				reportToWorkshop(ctx, f, t, rep, true)
			}
			fmt.Fprintf(f.IO.ErrOut, "\n[%s] watching %s for changes (Ctrl-C to stop)\n", time.Now().Format("15:04:05"), t.session.Workspace)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
