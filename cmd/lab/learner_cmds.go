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
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
)

// currentTask is the named task, or the first one the learner has not passed yet.
func currentTask(lab *labs.Lab, p *progress, id string) (*labs.Task, error) {
	if id != "" {
		t, ok := lab.Task(id)
		if !ok {
			ids := make([]string, len(lab.Tasks))
			for i, t := range lab.Tasks {
				ids[i] = t.ID
			}
			return nil, cli.FlagErrorf("lab %s has no task %q; its tasks: %s", lab.Slug, id, strings.Join(ids, ", "))
		}
		return t, nil
	}
	for i := range lab.Tasks {
		if tp := p.Tasks[lab.Tasks[i].ID]; tp == nil || !tp.Passed {
			return &lab.Tasks[i], nil
		}
	}
	return &lab.Tasks[len(lab.Tasks)-1], nil
}

// labOfSession finds the lab a learner command is about: --lab, else the running session's.
func labOfSession(ctx context.Context, f *cli.Factory, slug string) (*labs.Lab, *provision.Session, error) {
	_, s, err := openSession(ctx, f, slug)
	if err != nil {
		return nil, nil, err
	}
	lab, err := sessionLab(f, s)
	return lab, s, err
}

func newTasksCmd(f *cli.Factory) *cobra.Command {
	var slug string
	cmd := &cobra.Command{
		Use:     "tasks [task]",
		Short:   "Show the lab's tasks and their instructions",
		Example: "  lab tasks\n  lab tasks owner-ref",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, _, err := labOfSession(cmd.Context(), f, slug)
			if err != nil {
				return err
			}
			state, err := f.State()
			if err != nil {
				return err
			}
			p := readProgress(state, lab.Slug)
			out := f.IO.Out
			fmt.Fprintf(out, "# %s\n\n%s\n", lab.Title, strings.TrimSpace(lab.Summary))
			for i, t := range lab.Tasks {
				if len(args) == 1 && t.ID != args[0] {
					continue
				}
				mark := "[ ]"
				if tp := p.Tasks[t.ID]; tp != nil && tp.Passed {
					mark = "[x]"
				}
				fmt.Fprintf(out, "\n## %d. %s %s (%s)\n\n%s\n", i+1, mark, t.Title, t.ID, strings.TrimSpace(t.Instructions))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&slug, "lab", "", "the lab (default: the running one)")
	return cmd
}

func newHintCmd(f *cli.Factory) *cobra.Command {
	var slug string
	cmd := &cobra.Command{
		Use:   "hint [task]",
		Short: "Show the next hint for a task (the first unfinished one by default)",
		Long:  "Hints are progressive: each call shows one more, from a gentle nudge to nearly the answer. lab remembers how many you have seen.",
		Example: `  lab hint
  lab hint depends-on`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, _, err := labOfSession(cmd.Context(), f, slug)
			if err != nil {
				return err
			}
			state, err := f.State()
			if err != nil {
				return err
			}
			p := readProgress(state, lab.Slug)
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			t, err := currentTask(lab, p, id)
			if err != nil {
				return err
			}
			if len(t.Hints) == 0 {
				fmt.Fprintf(f.IO.Out, "Task %s has no hints. Its instructions: `lab tasks %s`.\n", t.ID, t.ID)
				return nil
			}
			tp := p.task(t.ID)
			if tp.HintsShown < len(t.Hints) {
				tp.HintsShown++
			}
			if err := state.WriteJSON(progressFile(lab.Slug), p); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Task %s: %s\n", t.ID, t.Title)
			for i := 0; i < tp.HintsShown; i++ {
				fmt.Fprintf(f.IO.Out, "\nHint %d/%d: %s\n", i+1, len(t.Hints), strings.TrimSpace(t.Hints[i]))
			}
			if tp.HintsShown == len(t.Hints) {
				fmt.Fprintf(f.IO.ErrOut, "\nThat was the last hint. `lab solve` applies the reference solution.\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&slug, "lab", "", "the lab (default: the running one)")
	return cmd
}

type overwriteOptions struct {
	Lab string
	Yes bool
}

func newSolveCmd(f *cli.Factory) *cobra.Command {
	o := &overwriteOptions{}
	cmd := &cobra.Command{
		Use:   "solve [task]",
		Short: "Apply the lab's reference solution to your workspace (asks first, keeps a backup)",
		Long: `Copies the lab's reference solution over your workspace files. The solution is the lab's end state, so
it completes every task; your files are backed up first and the backup's path is printed. With a task,
it shows that task's hints and which files the solution changes, then asks before applying.`,
		Example: "  lab solve\n  lab solve --yes",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, s, err := labOfSession(cmd.Context(), f, o.Lab)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				t, ok := lab.Task(args[0])
				if !ok {
					return cli.FlagErrorf("lab %s has no task %q", lab.Slug, args[0])
				}
				for i, h := range t.Hints {
					fmt.Fprintf(f.IO.Out, "Hint %d/%d: %s\n", i+1, len(t.Hints), strings.TrimSpace(h))
				}
			}
			files, err := filesIn(lab.FS, "solution")
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "The solution replaces: %s\n", strings.Join(files, ", "))
			if !confirm(f, o.Yes, "Apply the reference solution to "+s.Workspace+"?") {
				return fmt.Errorf("not applied: confirm on a terminal or pass --yes")
			}
			backup, err := backupWorkspace(f, lab.Slug, s.Workspace)
			if err != nil {
				return err
			}
			if err := provision.CopyTree(lab.FS, "solution", s.Workspace); err != nil {
				return err
			}
			if n := len(lab.SolutionRequests); n > 0 {
				fmt.Fprintf(f.IO.ErrOut, "Sending the solution's %d API request(s) (the tasks done through the API) ...\n", n)
				if err := checks.ApplySolutionRequests(cmd.Context(), sessionEnv(s), lab); err != nil {
					return err
				}
			}
			fmt.Fprintf(f.IO.Out, "Solution applied; your files are backed up in %s.\nRun `lab check` to see every task pass.\n", backup)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	return cmd
}

func newResetCmd(f *cli.Factory) *cobra.Command {
	o := &overwriteOptions{}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Put the workspace and catalog back to the lab's start (keeps a backup; no restart)",
		Long: `Replaces the workspace with the lab's starting files (your files are backed up first), clears the lab's
progress, and lets the catalog re-read the files. The containers keep running.`,
		Example: "  lab reset\n  lab reset --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, s, err := labOfSession(cmd.Context(), f, o.Lab)
			if err != nil {
				return err
			}
			if !confirm(f, o.Yes, "Reset "+s.Workspace+" to the lab's starting files?") {
				return fmt.Errorf("not reset: confirm on a terminal or pass --yes")
			}
			backup, err := resetWorkspace(f, lab, s.Workspace)
			if err != nil {
				return err
			}
			if err := checks.ResetRequests(cmd.Context(), sessionEnv(s), lab); err != nil {
				return fmt.Errorf("workspace reset (backup in %s), but the catalog's registered locations could not be reset: %w", backup, err)
			}
			state, err := f.State()
			if err != nil {
				return err
			}
			if err := state.WriteJSON(progressFile(lab.Slug), &progress{}); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Workspace reset; your files are backed up in %s.\n", backup)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	return cmd
}

// resetWorkspace backs the workspace up, then replaces its content with the lab's starting files. The
// directory itself stays (it is bind-mounted into the running Backstage container).
func resetWorkspace(f *cli.Factory, lab *labs.Lab, ws string) (string, error) {
	backup, err := backupWorkspace(f, lab.Slug, ws)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(ws)
	if err != nil {
		return "", fmt.Errorf("reset workspace: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(ws, e.Name())); err != nil {
			return "", fmt.Errorf("reset workspace: %w", err)
		}
	}
	return backup, provision.CopyTree(lab.FS, "workspace", ws)
}

// backupWorkspace copies the workspace into the state dir and returns the copy's path.
func backupWorkspace(f *cli.Factory, slug, ws string) (string, error) {
	state, err := f.State()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(string(state), "backups", slug, time.Now().Format("20060102-150405.000"))
	if err := provision.CopyTree(os.DirFS(ws), ".", dst); err != nil {
		return "", fmt.Errorf("back up workspace: %w", err)
	}
	return dst, nil
}

func filesIn(fsys fs.FS, dir string) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir+"/"))
		}
		return err
	})
	return out, err
}

// confirm asks a yes/no question on a terminal; without one, only --yes confirms.
func confirm(f *cli.Factory, yes bool, question string) bool {
	if yes {
		return true
	}
	if !f.IO.InTTY {
		return false
	}
	fmt.Fprintf(f.IO.ErrOut, "%s [y/N] ", question)
	var answer string
	_, _ = fmt.Fscanln(f.IO.In, &answer)
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}
