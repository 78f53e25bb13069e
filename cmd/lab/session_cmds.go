package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/image"
)

// resolveSession finds the session a command is about: the named lab's, the only running one, or the
// one whose workspace holds the current directory.
func resolveSession(ctx context.Context, f *cli.Factory, eng provision.Engine, lab string) (*provision.Session, error) {
	if lab != "" {
		return provision.Find(ctx, eng, lab)
	}
	all, err := provision.FindAll(ctx, eng)
	if err != nil {
		return nil, err
	}
	switch len(all) {
	case 0:
		return nil, fmt.Errorf("%w: no lab has been started", provision.ErrNotFound)
	case 1:
		return all[0], nil
	}
	// The one whose workspace holds the current directory, else the only one whose workspace is in it
	// (lab start creates ./<lab> in the current directory).
	if cwd, err := f.Cwd(); err == nil {
		var children []*provision.Session
		for _, s := range all {
			if s.Workspace == "" {
				continue
			}
			if cwd == s.Workspace || strings.HasPrefix(cwd, s.Workspace+string(filepath.Separator)) {
				return s, nil
			}
			if filepath.Dir(s.Workspace) == cwd {
				children = append(children, s)
			}
		}
		if len(children) == 1 {
			return children[0], nil
		}
	}
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Lab
	}
	return nil, fmt.Errorf("several labs are running (%s): name one with --lab, or run lab from inside a lab's workspace", strings.Join(names, ", "))
}

// openSession connects to Docker and finds the session a command is about (see resolveSession).
func openSession(ctx context.Context, f *cli.Factory, lab string) (provision.Engine, *provision.Session, error) {
	eng, err := f.Engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := resolveSession(ctx, f, eng, lab)
	return eng, s, err
}

// sessionLab loads the lab definition of a session.
func sessionLab(f *cli.Factory, s *provision.Session) (*labs.Lab, error) {
	cat, err := f.Catalog()
	if err != nil {
		return nil, err
	}
	return cat.Get(s.Lab)
}

// caBundle returns the PEM bundle image builds should trust: --ca-bundle, $LAB_CA_BUNDLE or $NODE_EXTRA_CA_CERTS.
func caBundle(f *cli.Factory, flag string) ([]byte, error) {
	path := flag
	for _, env := range []string{"LAB_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
		if path == "" {
			path = f.Getenv(env)
		}
	}
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	return data, nil
}

type startOptions struct {
	Lab       string
	Workspace string
	Wait      time.Duration
	Retain    bool
	JSON      bool
	CABundle  string
}

func newStartCmd(f *cli.Factory) *cobra.Command {
	o := &startOptions{}
	cmd := &cobra.Command{
		Use:   "start [lab]",
		Short: "Start a lab: Backstage + PostgreSQL in Docker, and your workspace",
		Long: `Start a lab. Builds (or reuses) the images, starts PostgreSQL and Backstage in Docker with ports bound
to 127.0.0.1, loads the lab's fixtures and creates the workspace ./<lab>/ (an existing workspace is used
as it is: your work is never overwritten). Starting a running lab prints its URLs; starting a stopped lab
resumes it with its data.`,
		Example: `  lab start catalog-relations
  lab start catalog-relations --workspace ~/labs/relations
  lab start                     # choose a lab (on a terminal)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Lab = args[0]
			}
			return startRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Workspace, "workspace", "", "workspace directory (default ./<lab>)")
	cmd.Flags().DurationVar(&o.Wait, "wait", 3*time.Minute, "how long to wait for Backstage to be ready")
	cmd.Flags().BoolVar(&o.Retain, "retain", false, "keep a session that failed to start, for debugging")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the session as JSON")
	cmd.Flags().StringVar(&o.CABundle, "ca-bundle", "", "PEM CA bundle for image builds behind a TLS-inspecting proxy (also $LAB_CA_BUNDLE)")
	return cmd
}

func startRun(ctx context.Context, f *cli.Factory, o *startOptions) error {
	cat, err := f.Catalog()
	if err != nil {
		return err
	}
	if o.Lab == "" {
		if o.Lab, err = chooseLab(f, cat); err != nil {
			return err
		}
	}
	lab, err := cat.Get(o.Lab)
	if err != nil {
		return err
	}
	if o.Workspace == "" {
		cwd, err := f.Cwd()
		if err != nil {
			return err
		}
		o.Workspace = filepath.Join(cwd, lab.Slug)
	}
	if o.Workspace, err = filepath.Abs(o.Workspace); err != nil {
		return err
	}
	eng, err := f.Engine(ctx)
	if err != nil {
		return err
	}
	rep, err := f.Reporter()
	if err != nil {
		return err
	}
	state, err := f.State()
	if err != nil {
		return err
	}
	ca, err := caBundle(f, o.CABundle)
	if err != nil {
		return err
	}
	ref, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: image.Backstage(), CABundle: ca, Reporter: rep})
	if err != nil {
		return err
	}
	_, findErr := provision.Find(ctx, eng, lab.Slug)
	fresh := errors.Is(findErr, provision.ErrNotFound) // a new database: the lab's API-made fixtures are due
	start := time.Now()
	s, err := provision.Start(ctx, eng, provision.StartOptions{
		Lab: lab, Workspace: o.Workspace, State: state,
		BackstageImage: ref, PostgresImage: provision.PostgresImage,
		Wait: o.Wait, Reporter: rep, Retain: o.Retain,
	})
	running := errors.Is(err, provision.ErrAlreadyRunning)
	if err != nil && !running {
		return err
	}
	if fresh {
		if err := checks.ApplyFixtureRequests(ctx, sessionEnv(s), lab); err != nil {
			return fmt.Errorf("lab %s started, but its starting catalog could not be set up: %w\nRun `lab reset` to try again", lab.Slug, err)
		}
	}
	if o.JSON {
		return writeJSON(f, sessionJSON(s, lab, "ready"))
	}
	out := f.IO.Out
	if running {
		fmt.Fprintf(out, "Lab %s is already running.\n", lab.Slug)
	} else {
		fmt.Fprintf(out, "Lab %s is ready (%.1fs).\n", lab.Slug, time.Since(start).Seconds())
	}
	fmt.Fprintf(out, "  Backstage:  %s\n  UI:         %s  (`lab open` opens it)\n  Workspace:  %s\n  PostgreSQL: 127.0.0.1:%d\n\n",
		s.URL(), uiURL(s), s.Workspace, s.PostgresPort)
	fmt.Fprintf(out, "Next: read %s, edit the files in the workspace, then run `lab check`.\n", filepath.Join(s.Workspace, "README.md"))
	return nil
}

// chooseLab asks which lab to start when none is named (only on a terminal).
func chooseLab(f *cli.Factory, cat *labs.Catalog) (string, error) {
	if !f.IO.InTTY || !f.IO.ErrTTY {
		return "", cli.FlagErrorf("name the lab to start (see `lab list`)")
	}
	for i, l := range cat.Labs {
		fmt.Fprintf(f.IO.ErrOut, "%3d) %-36s %s (%d min)\n", i+1, l.Slug, l.Title, l.Minutes)
	}
	fmt.Fprint(f.IO.ErrOut, "Start which lab? [number or name] ")
	var answer string
	if _, err := fmt.Fscanln(f.IO.In, &answer); err != nil {
		return "", cli.FlagErrorf("no lab chosen")
	}
	var n int
	if _, err := fmt.Sscanf(answer, "%d", &n); err == nil && n >= 1 && n <= len(cat.Labs) {
		return cat.Labs[n-1].Slug, nil
	}
	return answer, nil
}

// sessionStatus is the documented JSON shape of `lab status --json` and `lab start --json`.
type sessionStatus struct {
	Session     string        `json:"session"`
	Lab         string        `json:"lab"`
	Title       string        `json:"title,omitempty"`
	URL         string        `json:"url"`
	UIURL       string        `json:"ui_url"` // the Backstage UI (served with the API on the same port)
	Workspace   string        `json:"workspace"`
	Backstage   string        `json:"backstage"` // ready | starting | stopped | missing
	Postgres    string        `json:"postgres"`  // running | stopped | missing
	PostgresURL string        `json:"postgres_url,omitempty"`
	Progress    *progressJSON `json:"progress,omitempty"`
}

func sessionJSON(s *provision.Session, lab *labs.Lab, backstage string) sessionStatus {
	st := sessionStatus{Session: s.ID, Lab: s.Lab, URL: s.URL(), UIURL: uiURL(s), Workspace: s.Workspace, Backstage: backstage, Postgres: "missing"}
	if lab != nil {
		st.Title = lab.Title
	}
	if s.Postgres != nil {
		st.Postgres = "stopped"
		if s.Postgres.Running {
			st.Postgres = "running"
		}
		st.PostgresURL = fmt.Sprintf("postgres://127.0.0.1:%d", s.PostgresPort)
	}
	return st
}

func writeJSON(f *cli.Factory, v any) error {
	enc := json.NewEncoder(f.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type statusOptions struct {
	Lab  string
	JSON bool
}

func newStatusCmd(f *cli.Factory) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show running labs: URLs, health and progress",
		Example: `  lab status
  lab status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return statusRun(cmd.Context(), f, o) },
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "only this lab")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func statusRun(ctx context.Context, f *cli.Factory, o *statusOptions) error {
	eng, err := f.Engine(ctx)
	if err != nil {
		return err
	}
	all, err := provision.FindAll(ctx, eng)
	if err != nil {
		return err
	}
	cat, _ := f.Catalog()
	state, err := f.State()
	if err != nil {
		return err
	}
	out := []sessionStatus{}
	for _, s := range all {
		if o.Lab != "" && s.Lab != o.Lab {
			continue
		}
		health := "stopped"
		switch {
		case s.Backstage == nil:
			health = "missing"
		case s.Backstage.Running && provision.ProbeReady(ctx, s) == nil:
			health = "ready"
		case s.Backstage.Running:
			health = "starting"
		}
		var lab *labs.Lab
		if cat != nil {
			lab, _ = cat.Get(s.Lab)
		}
		st := sessionJSON(s, lab, health)
		if lab != nil {
			p := loadProgress(state, lab)
			st.Progress = &p
		}
		out = append(out, st)
	}
	if o.JSON {
		return writeJSON(f, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No lab is running. Start one with `lab start <lab>` (see `lab list`).")
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tBACKSTAGE\tPOSTGRES\tUI\tPROGRESS\tWORKSPACE")
	for _, st := range out {
		prog := "-"
		if st.Progress != nil {
			prog = fmt.Sprintf("%d/%d", st.Progress.Done, st.Progress.Tasks)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Lab, st.Backstage, st.Postgres, st.UIURL, prog, st.Workspace)
	}
	return tw.Flush()
}

type logsOptions struct {
	Lab    string
	Role   string
	Follow bool
	Tail   string
}

func newLogsCmd(f *cli.Factory) *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:       "logs [backstage|postgres]",
		Short:     "Show the logs of a lab's Backstage (default) or PostgreSQL container",
		Example:   "  lab logs\n  lab logs postgres -f",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{provision.RoleBackstage, provision.RolePostgres},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Role = provision.RoleBackstage
			if len(args) == 1 {
				o.Role = args[0]
			}
			if o.Role != provision.RoleBackstage && o.Role != provision.RolePostgres {
				return cli.FlagErrorf("logs of %q: expected backstage or postgres", o.Role)
			}
			return logsRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVar(&o.Tail, "tail", "all", "number of lines from the end")
	return cmd
}

func logsRun(ctx context.Context, f *cli.Factory, o *logsOptions) error {
	eng, s, err := openSession(ctx, f, o.Lab)
	if err != nil {
		return err
	}
	c := s.Backstage
	if o.Role == provision.RolePostgres {
		c = s.Postgres
	}
	if c == nil {
		return fmt.Errorf("lab %s has no %s container: run `lab start %s`", s.Lab, o.Role, s.Lab)
	}
	err = eng.Logs(ctx, c.ID, o.Follow, o.Tail, f.IO.Out)
	if ctx.Err() != nil {
		return nil // Ctrl-C ends -f normally
	}
	return err
}

type labOnlyOptions struct {
	Lab   string
	Force bool
	Wait  time.Duration
	JSON  bool
}

func newStopCmd(f *cli.Factory) *cobra.Command {
	o := &labOnlyOptions{}
	cmd := &cobra.Command{
		Use:     "stop [lab]",
		Short:   "Stop a lab's containers, keeping its data; `lab start` resumes it",
		Example: "  lab stop\n  lab stop catalog-relations",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Lab = args[0]
			}
			eng, s, err := openSession(cmd.Context(), f, o.Lab)
			if err != nil {
				return err
			}
			rep, err := f.Reporter()
			if err != nil {
				return err
			}
			if err := provision.Stop(cmd.Context(), eng, s, rep); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Lab %s stopped. `lab start %s` resumes it; `lab destroy %s` removes it.\n", s.Lab, s.Lab, s.Lab)
			return nil
		},
	}
	return cmd
}

func newRestartCmd(f *cli.Factory) *cobra.Command {
	o := &labOnlyOptions{}
	cmd := &cobra.Command{
		Use:   "restart [lab]",
		Short: "Restart a lab's Backstage with the current configuration (after editing app-config)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Lab = args[0]
			}
			ctx := cmd.Context()
			eng, s, err := openSession(ctx, f, o.Lab)
			if err != nil {
				return err
			}
			lab, err := sessionLab(f, s)
			if err != nil {
				return err
			}
			rep, err := f.Reporter()
			if err != nil {
				return err
			}
			state, err := f.State()
			if err != nil {
				return err
			}
			s, err = provision.Restart(ctx, eng, s, provision.StartOptions{Lab: lab, State: state, Wait: o.Wait, Reporter: rep})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Lab %s restarted: %s\n", s.Lab, s.URL())
			return nil
		},
	}
	cmd.Flags().DurationVar(&o.Wait, "wait", 3*time.Minute, "how long to wait for Backstage to be ready")
	return cmd
}

func newDestroyCmd(f *cli.Factory) *cobra.Command {
	o := &labOnlyOptions{}
	cmd := &cobra.Command{
		Use:   "destroy [lab]",
		Short: "Remove a lab's containers, volume and network (your workspace stays unless --force)",
		Example: `  lab destroy
  lab destroy catalog-relations --force   # also delete the workspace directory`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Lab = args[0]
			}
			return destroyRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "also delete the workspace directory and the lab's saved progress")
	return cmd
}

func destroyRun(ctx context.Context, f *cli.Factory, o *labOnlyOptions) error {
	eng, s, err := openSession(ctx, f, o.Lab)
	if err != nil {
		return err
	}
	rep, err := f.Reporter()
	if err != nil {
		return err
	}
	n, err := provision.Destroy(ctx, eng, s.Lab, rep)
	if err != nil {
		return err
	}
	state, err := f.State()
	if err != nil {
		return err
	}
	_ = os.RemoveAll(state.SessionDir(s.Lab))
	fmt.Fprintf(f.IO.Out, "Lab %s destroyed (%d resources removed).\n", s.Lab, n)
	if o.Force && s.Workspace != "" {
		if err := os.RemoveAll(s.Workspace); err != nil {
			return fmt.Errorf("delete workspace: %w", err)
		}
		_ = os.Remove(filepath.Join(string(state), "progress", s.Lab+".json"))
		fmt.Fprintf(f.IO.Out, "Workspace %s deleted.\n", s.Workspace)
	} else if s.Workspace != "" {
		fmt.Fprintf(f.IO.Out, "Your workspace %s is kept (delete it with --force).\n", s.Workspace)
	}
	return nil
}
