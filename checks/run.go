package checks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// Defaults for Options.
const (
	DefaultCheckTimeout  = 10 * time.Second
	DefaultRetryInterval = 300 * time.Millisecond
	DefaultParallel      = 8
	DefaultMaxCatchUp    = 8 * time.Second
)

// Options tune a run; the zero value checks every task once with the defaults.
type Options struct {
	// Tasks limits the run to these task ids (all tasks when empty).
	Tasks []string
	// CheckTimeout bounds one attempt of one check (DefaultCheckTimeout when zero).
	CheckTimeout time.Duration
	// SettleUntil: failing checks are retried until this instant, because the catalog takes a second or
	// two to process an edit even after a refresh. Zero means one attempt.
	SettleUntil time.Time
	// Changed is when the workspace last changed. When it is recent, Run first waits (at most until
	// Changed+MaxCatchUp) until the catalog serves the workspace's entities as the files say, so that no
	// check is judged on the state before the edit. Zero skips the wait.
	Changed time.Time
	// MaxCatchUp bounds that wait (DefaultMaxCatchUp when zero).
	MaxCatchUp time.Duration
	// RetryInterval is the pause between attempts (DefaultRetryInterval when zero).
	RetryInterval time.Duration
	// Parallel bounds how many checks run at once (DefaultParallel when zero).
	Parallel int
}

func (o Options) withDefaults() Options {
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = DefaultCheckTimeout
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.MaxCatchUp <= 0 {
		o.MaxCatchUp = DefaultMaxCatchUp
	}
	return o
}

// runner holds what every check of one run needs.
type runner struct {
	env      Env
	lab      *labs.Lab
	opts     Options
	problems []string // from the workspace pre-scan
	// caughtUp, when set, is the earlier retry deadline of checks that read only the catalog's entities:
	// the catalog has caught up with the files, so only reverse relations can still change.
	caughtUp time.Time
}

// catalogOnly lists the check types that judge nothing but catalog entities and workspace files. Others
// go through plugins with caches of their own (TechDocs caches the entities it builds for a few seconds).
var catalogOnly = map[string]bool{"entity": true, "relation": true, "entity-valid": true, "file-yaml": true}

// settleUntil is when a failing check stops being retried.
func (r *runner) settleUntil(c labs.Check) time.Time {
	if !r.caughtUp.IsZero() && catalogOnly[c.Type] && r.caughtUp.Before(r.opts.SettleUntil) {
		return r.caughtUp
	}
	return r.opts.SettleUntil
}

// Run checks a lab's tasks against a running Backstage:
//  1. readiness gate: Backstage answers and has loaded every workspace location of the lab; if not,
//     the report's verdict is not-ready and NotReady says what to do;
//  2. refresh of those locations and of every entity the checks name;
//  3. pre-scan of the workspace's YAML files (Report.Problems);
//  4. the checks, in parallel, each attempt with its own timeout, failing ones retried until
//     opts.SettleUntil.
//
// Run returns an error only when it could not run at all (unknown task, unreadable workspace, ctx
// cancelled); everything about the learner's work or the environment is in the report.
func Run(ctx context.Context, env Env, lab *labs.Lab, opts Options) (*Report, error) {
	start := time.Now()
	if lab == nil {
		return nil, errors.New("run checks: no lab")
	}
	if env.API == nil {
		return nil, errors.New("run checks: no Backstage API")
	}
	tasks, err := selectTasks(lab, opts.Tasks)
	if err != nil {
		return nil, err
	}
	problems, err := prescan(env.Workspace)
	if err != nil {
		return nil, err
	}
	r := &runner{env: env, lab: lab, opts: opts.withDefaults(), problems: problems}
	report := &Report{Lab: lab.Slug, Total: len(tasks), Tasks: []TaskResult{}, Problems: problems}

	locations, why, err := r.gate(ctx)
	if err != nil {
		return nil, err
	}
	if why != "" {
		report.Verdict, report.NotReady = NotReady, why
		for _, t := range tasks {
			report.Tasks = append(report.Tasks, TaskResult{ID: t.ID, Title: t.Title, Verdict: NotReady, Checks: []CheckResult{}})
		}
		report.DurationMS = time.Since(start).Milliseconds()
		return report, nil
	}

	if err := r.refresh(ctx, locations, tasks); err != nil {
		return nil, err
	}
	if deadline := opts.Changed.Add(r.opts.MaxCatchUp); !opts.Changed.IsZero() && time.Now().Before(deadline) {
		if r.catchUp(ctx, deadline) {
			r.caughtUp = time.Now().Add(settledRetry)
		}
	}

	results := r.runChecks(ctx, tasks)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check %s: %w", lab.Slug, err)
	}

	report.Verdict = Pass
	anyFail, anyNotReady := false, false
	for i, t := range tasks {
		tr := TaskResult{ID: t.ID, Title: t.Title, Verdict: taskVerdict(results[i]), Checks: results[i]}
		switch tr.Verdict {
		case Pass:
			report.Passed++
		case Fail:
			anyFail = true
		case NotReady:
			anyNotReady = true
		}
		report.Tasks = append(report.Tasks, tr)
	}
	switch {
	case anyNotReady:
		report.Verdict = NotReady
		report.NotReady = "Some checks could not get an answer from Backstage (see below). " + whatToDo
	case anyFail:
		report.Verdict = Fail
	}
	report.DurationMS = time.Since(start).Milliseconds()
	return report, nil
}

// whatToDo ends every not-ready message.
const whatToDo = "Wait a few seconds and run lab check again; if it persists, see lab status and lab logs backstage."

// taskVerdict: fail when any check fails (the learner has something to fix whatever else happens),
// else not-ready when any check could not be judged, else pass.
func taskVerdict(checks []CheckResult) Verdict {
	v := Pass
	for _, c := range checks {
		if c.Verdict == Fail {
			return Fail
		}
		if c.Verdict == NotReady {
			v = NotReady
		}
	}
	return v
}

// selectTasks returns the lab's tasks, or only those named (in lab order).
func selectTasks(lab *labs.Lab, ids []string) ([]labs.Task, error) {
	if len(ids) == 0 {
		return lab.Tasks, nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		if _, ok := lab.Task(id); !ok {
			all := make([]string, len(lab.Tasks))
			for i, t := range lab.Tasks {
				all[i] = t.ID
			}
			return nil, fmt.Errorf("lab %s has no task %q; its tasks are: %s", lab.Slug, id, strings.Join(all, ", "))
		}
		want[id] = true
	}
	var out []labs.Task
	for _, t := range lab.Tasks {
		if want[t.ID] {
			out = append(out, t)
		}
	}
	return out, nil
}

// gate checks that Backstage is ready and lists every workspace location of the lab as a Location
// entity. It returns those entities, or a not-ready explanation; an error only when ctx ends.
func (r *runner) gate(ctx context.Context) ([]*backstage.Entity, string, error) {
	if err := r.env.API.Ready(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("check %s: %w", r.lab.Slug, ctx.Err())
		}
		return nil, fmt.Sprintf("Backstage is not ready (%v). It may still be starting. %s", err, whatToDo), nil
	}
	if len(r.lab.Fixtures.Locations) == 0 {
		return nil, "", nil
	}
	all, err := r.env.API.Query(ctx, "kind=location")
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("check %s: %w", r.lab.Slug, ctx.Err())
		}
		if errors.Is(err, backstage.ErrUnauthorized) {
			return nil, fmt.Sprintf("Backstage refused the checker's token (%v). Run lab status; lab stop and lab start renew it.", err), nil
		}
		return nil, fmt.Sprintf("Backstage is up but its catalog does not answer (%v). %s", err, whatToDo), nil
	}
	var found []*backstage.Entity
	var missing []string
	var rejected []*backstage.Entity
	for _, loc := range r.lab.Fixtures.Locations {
		target := path.Join(r.env.mount(), loc)
		e := locationFor(all, target)
		if e == nil {
			// A file that was never readable (e.g. invalid YAML from the start) leaves its Location entity
			// unprocessed: Backstage has loaded it, and the checks report its error.
			if rejected == nil {
				rejected = r.rejectedLocations(ctx)
			}
			e = locationFor(rejected, target)
		}
		if e == nil {
			missing = append(missing, loc)
			continue
		}
		found = append(found, e)
	}
	if len(missing) > 0 {
		return nil, fmt.Sprintf("Backstage has not loaded the catalog location(s) %s of this lab yet (no Location entity with that target). %s",
			strings.Join(missing, ", "), whatToDo), nil
	}
	return found, "", nil
}

// locationFor returns the Location entity whose spec.target is target (an in-container path).
func locationFor(locations []*backstage.Entity, target string) *backstage.Entity {
	for _, e := range locations {
		t, _ := e.Spec["target"].(string)
		t = strings.TrimPrefix(t, "file:")
		if t != "" && path.Clean(t) == path.Clean(target) {
			return e
		}
	}
	return nil
}

// refresh asks the catalog to re-read the lab's locations and every entity the checks name, so edits
// show up within a second or two. Errors are ignored (an entity may not exist yet) unless ctx ends.
func (r *runner) refresh(ctx context.Context, locations []*backstage.Entity, tasks []labs.Task) error {
	seen := map[string]bool{}
	var refs []string
	add := func(ref string) {
		if ref == "" {
			return
		}
		ref = normRef(ref)
		key := strings.ToLower(ref)
		if !seen[key] {
			seen[key] = true
			refs = append(refs, ref)
		}
	}
	for _, l := range locations {
		add(l.Ref())
	}
	// The lab's read-only fixture files too: after a restart with new configuration (e.g. catalog rules)
	// the catalog would otherwise re-read them only at its next scheduled pass. Their Location entities
	// may not exist yet (a file never accepted), so the ref is computed as Backstage names them.
	for _, f := range r.lab.Fixtures.Catalog {
		add(configLocationRef(path.Join("/fixtures", f)))
	}
	for _, t := range tasks {
		for _, c := range t.Checks {
			switch c.Type {
			case "entity", "entity-valid", "techdocs":
				add(c.Entity)
			case "relation":
				add(c.Entity)
				add(c.Target)
			}
		}
	}
	forEach(ctx, len(refs), r.opts.Parallel, func(i int) {
		_ = r.env.API.Refresh(ctx, refs[i]) // best effort: see above
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check %s: %w", r.lab.Slug, err)
	}
	return nil
}

// forEach calls fn(0..n-1) with at most parallel calls at once, and stops starting new ones when ctx ends.
func forEach(ctx context.Context, n, parallel int, fn func(i int)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// runChecks runs every check of the tasks and returns the results per task, in order.
func (r *runner) runChecks(ctx context.Context, tasks []labs.Task) [][]CheckResult {
	type job struct{ task, check int }
	var jobs []job
	results := make([][]CheckResult, len(tasks))
	for i, t := range tasks {
		results[i] = make([]CheckResult, len(t.Checks))
		for j := range t.Checks {
			jobs = append(jobs, job{i, j})
		}
	}
	forEach(ctx, len(jobs), r.opts.Parallel, func(k int) {
		j := jobs[k]
		results[j.task][j.check] = r.runWithRetry(ctx, tasks[j.task].Checks[j.check])
	})
	return results
}

// runWithRetry runs a check until it passes, or SettleUntil has passed, or ctx ends.
func (r *runner) runWithRetry(ctx context.Context, c labs.Check) CheckResult {
	for {
		res := r.runOnce(ctx, c)
		if res.Verdict == Pass || ctx.Err() != nil || !time.Now().Add(r.opts.RetryInterval).Before(r.settleUntil(c)) {
			return res
		}
		t := time.NewTimer(r.opts.RetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return res
		case <-t.C:
		}
	}
}

// runOnce makes one attempt, bounded by CheckTimeout, and fills in the check's name, type and line.
func (r *runner) runOnce(ctx context.Context, c labs.Check) CheckResult {
	actx, cancel := context.WithTimeout(ctx, r.opts.CheckTimeout)
	defer cancel()
	res := r.dispatch(actx, c)
	if res.Verdict != Pass && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		res = CheckResult{Verdict: NotReady, Message: fmt.Sprintf(
			"Backstage did not answer within %s; it may be busy or restarting. %s", r.opts.CheckTimeout, whatToDo)}
	}
	res.Type = c.Type
	res.Line = c.Line
	res.Name = c.Name
	if res.Name == "" {
		res.Name = defaultName(c)
	}
	if res.Verdict == Fail && c.Explain != "" {
		res.Message = strings.TrimSpace(res.Message + " " + strings.TrimSpace(c.Explain))
	}
	if res.Verdict == Fail && res.link != "" {
		res.Message += " See " + res.link
	}
	res.link = ""
	return res
}

// dispatch runs one check by type.
func (r *runner) dispatch(ctx context.Context, c labs.Check) CheckResult {
	switch c.Type {
	case "entity":
		return r.checkEntity(ctx, c)
	case "relation":
		return r.checkRelation(ctx, c)
	case "entity-valid":
		return r.checkEntityValid(ctx, c)
	case "file-yaml":
		return r.checkFileYAML(c)
	case "dry-run":
		return r.checkDryRun(ctx, c)
	case "techdocs":
		return r.checkTechDocs(ctx, c)
	case "permission":
		return r.checkPermission(ctx, c)
	case "http":
		return r.checkHTTP(ctx, c)
	case "cmd":
		return r.checkCmd(ctx, c)
	case "answer":
		return r.checkAnswer(ctx, c)
	}
	return failed("", fmt.Sprintf("This build of lab does not know check type %q; update lab.", c.Type), "", "")
}

// failed builds a failing result.
func failed(where, message, expected, found string) CheckResult {
	return CheckResult{Verdict: Fail, Where: where, Message: message, Expected: expected, Found: found}
}

// passed builds a passing result.
func passed(where string) CheckResult {
	return CheckResult{Verdict: Pass, Where: where}
}

// notReady turns an unexpected API error into a not-ready result: the environment is at fault.
func notReady(err error) CheckResult {
	return CheckResult{Verdict: NotReady, Message: fmt.Sprintf("Could not get an answer from Backstage: %v. %s", err, whatToDo)}
}

// defaultName describes a check that has no name in lab.yaml.
func defaultName(c labs.Check) string {
	switch c.Type {
	case "entity":
		if c.Absent {
			return normRef(c.Entity) + " is not in the catalog"
		}
		if len(c.Fields) == 0 {
			return normRef(c.Entity) + " is in the catalog"
		}
		parts := make([]string, 0, len(c.Fields))
		for _, k := range sortedKeys(c.Fields) {
			parts = append(parts, k+" = "+show(c.Fields[k]))
		}
		return normRef(c.Entity) + " has " + strings.Join(parts, ", ")
	case "relation":
		s := normRef(c.Entity) + " " + c.Relation + " " + normRef(c.Target)
		if c.Absent {
			return "no relation " + s
		}
		return s
	case "entity-valid":
		return normRef(c.Entity) + " has no processing errors"
	case "file-yaml":
		switch {
		case c.Path == "":
			return c.File + " is valid YAML"
		case c.Absent:
			return c.File + " does not set " + c.Path
		case c.Equals != nil:
			return c.File + ": " + c.Path + " = " + show(c.Equals)
		}
		return c.File + " sets " + c.Path
	case "dry-run":
		return "dry-run of " + c.Template
	case "techdocs":
		return "TechDocs of " + normRef(c.Entity) + " show " + show(c.Contains)
	case "permission":
		s := c.User + " gets " + c.Decision + " for " + c.Permission
		if c.Resource != "" {
			s += " on " + c.Resource
		}
		return s
	case "http":
		m := c.Method
		if m == "" {
			m = "GET"
		}
		return strings.ToUpper(m) + " " + c.URL
	case "answer":
		return c.File + ": " + c.Path
	case "cmd":
		return cmdName(c)
	}
	return c.Type
}
