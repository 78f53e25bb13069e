package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/image"
)

// verifySettle bounds how long verify waits for the catalog to reflect a change of the workspace.
const verifySettle = 30 * time.Second

type verifyOptions struct {
	All      bool
	Labs     []string
	Variants bool
	JSON     bool
	Wait     time.Duration
}

// verifyResult is the documented JSON shape of `lab verify --json`: one per lab.
type verifyResult struct {
	Lab     string       `json:"lab"`
	Passed  bool         `json:"passed"`
	Steps   []verifyStep `json:"steps"`
	Seconds float64      `json:"seconds"`
	Error   string       `json:"error,omitempty"`
}

// verifyStep is one assertion of verify: a check on the start state or the solution, or a variant.
type verifyStep struct {
	Phase  string `json:"phase"` // start | solution | variant:<name>
	Task   string `json:"task"`
	Check  string `json:"check,omitempty"`
	Want   string `json:"want"` // fail | pass | fail with "<substring>"
	Got    string `json:"got"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

func newVerifyCmd(f *cli.Factory) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify <lab>... | --all",
		Short: "Self-test labs: every check fails at the start and passes on the solution",
		Long: `For each lab: start it in a temporary workspace, prove that every check FAILS on the starting files,
apply the reference solution and prove that every check PASSES, then apply each near-miss variant
(labs/<lab>/variants/) and prove that the task it names fails with the expected message. The session is
destroyed afterwards. For lab authors and CI.`,
		Example: `  lab verify catalog-relations
  lab verify --all
  lab verify --labs-dir ./labs my-new-lab`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Labs = args
			if o.All == (len(args) > 0) {
				return cli.FlagErrorf("name labs to verify, or pass --all")
			}
			return verifyRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "verify every lab")
	cmd.Flags().BoolVar(&o.Variants, "variants", true, "also verify the near-miss variants")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the results as JSON")
	cmd.Flags().DurationVar(&o.Wait, "wait", 3*time.Minute, "how long to wait for Backstage to be ready")
	return cmd
}

func verifyRun(ctx context.Context, f *cli.Factory, o *verifyOptions) error {
	cat, err := f.Catalog()
	if err != nil {
		return err
	}
	var selected []*labs.Lab
	if o.All {
		selected = cat.Labs
	}
	for _, slug := range o.Labs {
		lab, err := cat.Get(slug)
		if err != nil {
			return err
		}
		selected = append(selected, lab)
	}
	eng, err := f.Engine(ctx)
	if err != nil {
		return err
	}
	rep, err := f.Reporter()
	if err != nil {
		return err
	}
	ca, err := caBundle(f, "")
	if err != nil {
		return err
	}
	ref, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: image.Backstage(), CABundle: ca, Reporter: rep})
	if err != nil {
		return err
	}
	var results []verifyResult
	okLabs, failedLabs := 0, 0
	for _, lab := range selected {
		res := verifyLab(ctx, f, eng, lab, ref, rep, o)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		results = append(results, res)
		if res.Passed {
			okLabs++
		} else {
			failedLabs++
		}
		if !o.JSON {
			printVerify(f, res)
		}
	}
	if o.JSON {
		if err := writeJSON(f, results); err != nil {
			return err
		}
	}
	fmt.Fprintf(f.IO.ErrOut, "verify: %d passed, %d failed\n", okLabs, failedLabs)
	if failedLabs > 0 {
		return cli.Exit(cli.ExitChecksFail)
	}
	return nil
}

func printVerify(f *cli.Factory, r verifyResult) {
	mark := "✓"
	if !r.Passed {
		mark = "✗"
	}
	fmt.Fprintf(f.IO.Out, "%s %s (%.0fs)\n", mark, r.Lab, r.Seconds)
	if r.Error != "" {
		fmt.Fprintf(f.IO.Out, "    error: %s\n", r.Error)
	}
	for _, s := range r.Steps {
		m := "ok  "
		if !s.OK {
			m = "FAIL"
		}
		name := s.Task
		if s.Check != "" {
			name += " / " + s.Check
		}
		fmt.Fprintf(f.IO.Out, "    %s %-18s %-60s want %s, got %s\n", m, s.Phase, name, s.Want, s.Got)
		if !s.OK && s.Detail != "" {
			fmt.Fprintf(f.IO.Out, "         %s\n", strings.ReplaceAll(s.Detail, "\n", "\n         "))
		}
	}
}

func verifyLab(ctx context.Context, f *cli.Factory, eng provision.Engine, lab *labs.Lab, ref string, rep provision.Reporter, o *verifyOptions) verifyResult {
	start := time.Now()
	res := verifyResult{Lab: lab.Slug}
	fail := func(err error) verifyResult {
		res.Error = err.Error()
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	if _, err := provision.Find(ctx, eng, lab.Slug); err == nil {
		return fail(fmt.Errorf("lab %s is running: verify needs it to itself (`lab destroy %s`)", lab.Slug, lab.Slug))
	} else if !errors.Is(err, provision.ErrNotFound) {
		return fail(err)
	}
	tmp, err := os.MkdirTemp("", "lab-verify-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	ws := filepath.Join(tmp, lab.Slug)
	state := provision.StateDir(filepath.Join(tmp, "state"))
	s, err := provision.Start(ctx, eng, provision.StartOptions{
		Lab: lab, Workspace: ws, State: state,
		BackstageImage: ref, PostgresImage: provision.PostgresImage, Wait: o.Wait, Reporter: rep,
	})
	if err != nil {
		return fail(err)
	}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, _ = provision.Destroy(cleanup, eng, lab.Slug, provision.Discard)
	}()
	env := checkEnv(eng, s)
	// applyConfig restarts Backstage when a phase changed the learner's config file.
	applyConfig := func() error {
		if !provision.WorkspaceConfigChanged(lab, ws, state) {
			return nil
		}
		s, err = provision.Restart(ctx, eng, s, provision.StartOptions{Lab: lab, State: state, Wait: o.Wait, Reporter: rep})
		env = checkEnv(eng, s)
		return err
	}

	if err := checks.ApplyFixtureRequests(ctx, env, lab); err != nil {
		return fail(err)
	}

	// 1. The starting state: every check fails (a check that cannot fail is a defect).
	r, err := runReady(ctx, env, lab, checks.Options{})
	if err != nil {
		return fail(err)
	}
	res.Steps = append(res.Steps, checkSteps("start", r, checks.Fail)...)

	// 2. The reference solution: every check passes.
	if err := provision.CopyTree(lab.FS, "solution", ws); err != nil {
		return fail(err)
	}
	if err := applyConfig(); err != nil {
		return fail(err)
	}
	if err := checks.ApplySolutionRequests(ctx, env, lab); err != nil {
		return fail(err)
	}
	r, err = runReady(ctx, env, lab, checks.Options{Changed: time.Now(), SettleUntil: time.Now().Add(verifySettle)})
	if err != nil {
		return fail(err)
	}
	res.Steps = append(res.Steps, checkSteps("solution", r, checks.Pass)...)

	// 3. Near misses: each fails the task it names, with the expected diagnosis.
	if o.Variants {
		steps, err := verifyVariants(ctx, env, lab, ws, applyConfig)
		if err != nil {
			return fail(err)
		}
		res.Steps = append(res.Steps, steps...)
	}
	res.Passed = true
	for _, st := range res.Steps {
		res.Passed = res.Passed && st.OK
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

// runReady runs the checks, again while the environment is not ready (under load the catalog can take a
// moment to list a location): verify judges the lab, not the machine's speed.
func runReady(ctx context.Context, env checks.Env, lab *labs.Lab, opts checks.Options) (*checks.Report, error) {
	deadline := time.Now().Add(verifySettle)
	for {
		r, err := checks.Run(ctx, env, lab, opts)
		if err != nil || r.Verdict != checks.NotReady || time.Now().After(deadline) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// checkSteps turns a report into one step per check, each expected to have the verdict want.
func checkSteps(phase string, r *checks.Report, want checks.Verdict) []verifyStep {
	if r.Verdict == checks.NotReady {
		return []verifyStep{{Phase: phase, Task: "-", Want: string(want), Got: string(checks.NotReady), Detail: r.NotReady}}
	}
	var out []verifyStep
	for _, t := range r.Tasks {
		for _, c := range t.Checks {
			out = append(out, verifyStep{Phase: phase, Task: t.ID, Check: c.Name, Want: string(want), Got: string(c.Verdict),
				OK: c.Verdict == want, Detail: c.Message})
		}
	}
	return out
}

// variantExpectation is one item of a variant's expect.yaml.
type variantExpectation struct {
	Task    string `yaml:"task"`
	Message string `yaml:"message"`
}

func verifyVariants(ctx context.Context, env checks.Env, lab *labs.Lab, ws string, applyConfig func() error) ([]verifyStep, error) {
	entries, err := fs.ReadDir(lab.FS, "variants")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var steps []verifyStep
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := path.Join("variants", e.Name())
		data, err := fs.ReadFile(lab.FS, path.Join(dir, "expect.yaml"))
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", e.Name(), err)
		}
		var want []variantExpectation
		if err := yaml.Unmarshal(data, &want); err != nil {
			return nil, fmt.Errorf("variant %s: expect.yaml: %w", e.Name(), err)
		}
		if err := provision.CopyTree(lab.FS, "solution", ws); err != nil {
			return nil, err
		}
		if err := provision.CopyTree(lab.FS, dir, ws); err != nil {
			return nil, err
		}
		_ = os.Remove(filepath.Join(ws, "expect.yaml"))
		if err := applyConfig(); err != nil {
			steps = append(steps, verifyStep{Phase: "variant:" + e.Name(), Task: "-", Want: "backstage restarts", Got: "error", Detail: err.Error()})
			continue
		}
		steps = append(steps, verifyVariant(ctx, env, lab, "variant:"+e.Name(), want, time.Now())...)
	}
	// Leave the workspace on the solution.
	if err := provision.CopyTree(lab.FS, "solution", ws); err != nil {
		return steps, err
	}
	return steps, applyConfig()
}

// verifyVariant re-checks until every expected task fails with its message (the catalog needs a moment
// to process the change), or until verifySettle has passed.
func verifyVariant(ctx context.Context, env checks.Env, lab *labs.Lab, phase string, want []variantExpectation, changed time.Time) []verifyStep {
	var tasks []string
	for _, w := range want {
		tasks = append(tasks, w.Task)
	}
	deadline := time.Now().Add(verifySettle)
	var steps []verifyStep
	for {
		steps = steps[:0]
		all := true
		r, err := checks.Run(ctx, env, lab, checks.Options{Tasks: tasks, Changed: changed})
		for _, w := range want {
			st := verifyStep{Phase: phase, Task: w.Task, Want: fmt.Sprintf("fail with %q", w.Message)}
			switch {
			case err != nil:
				st.Got, st.Detail = "error", err.Error()
			default:
				verdict, text := taskOutcome(r, w.Task)
				st.Got, st.Detail = verdict, text
				st.OK = verdict == string(checks.Fail) && strings.Contains(strings.ToLower(text), strings.ToLower(w.Message))
			}
			all = all && st.OK
			steps = append(steps, st)
		}
		if all || time.Now().After(deadline) || ctx.Err() != nil {
			return steps
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// taskOutcome returns a task's verdict and everything said about it (its failure messages and the
// report's workspace problems).
func taskOutcome(r *checks.Report, id string) (string, string) {
	if r.Verdict == checks.NotReady {
		return string(checks.NotReady), r.NotReady
	}
	for _, t := range r.Tasks {
		if t.ID != id {
			continue
		}
		var msgs []string
		for _, c := range t.Checks {
			if c.Verdict != checks.Pass {
				msgs = append(msgs, c.Message)
			}
		}
		msgs = append(msgs, r.Problems...)
		return string(t.Verdict), strings.Join(msgs, "\n")
	}
	return "missing", "no such task in the report"
}
