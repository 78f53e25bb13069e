package checks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

var existsCheck = labs.Check{Type: "entity", Entity: "component:default/orders"}

func TestRunNotReadyWhenBackstageIsDown(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"))
	f.readyErr = &backstage.HTTPError{Method: "GET", Path: "/.backstage/health/v1/readiness", Status: 503, Body: `{"message":"Backend has not started yet"}`}
	rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck, existsCheck), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != NotReady || rep.ExitCode() != ExitNotReady || rep.Total != 2 || rep.Passed != 0 {
		t.Fatalf("report = %+v", rep)
	}
	for _, want := range []string{"Backend has not started yet", "Wait a few seconds", "lab status", "lab logs backstage"} {
		if !strings.Contains(rep.NotReady, want) {
			t.Errorf("NotReady lacks %q: %s", want, rep.NotReady)
		}
	}
	if rep.Tasks[0].Verdict != NotReady || f.calls["Entity"] != 0 {
		t.Errorf("tasks should not have run: %+v, %d entity calls", rep.Tasks, f.calls["Entity"])
	}
}

func TestRunNotReadyUntilLocationsLoaded(t *testing.T) {
	f := newFake(location(t, "catalog/other.yaml"))
	rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != NotReady || !strings.Contains(rep.NotReady, "catalog location(s) catalog/orders.yaml") {
		t.Fatalf("report = %+v", rep)
	}
}

func TestRunRefreshesLocationsAndNamedEntities(t *testing.T) {
	f := newFake(ordersEntity(t))
	lab := testLab(existsCheck, labs.Check{Type: "relation", Entity: "component:default/orders", Relation: "ownedBy", Target: "group:team-a"})
	f.add(location(t, "catalog/orders.yaml"))
	if _, err := Run(t.Context(), Env{API: f}, lab, Options{}); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(f.refreshed)
	slices.Sort(got)
	want := []string{"component:default/orders", "group:default/team-a", "location:default/generated-catalog-orders.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("refreshed %v, want %v", got, want)
	}
}

func TestRunRetriesUntilSettled(t *testing.T) {
	var calls atomic.Int32
	f := newFake(location(t, "catalog/orders.yaml"))
	orders := ordersEntity(t)
	f.entityHook = func(_ context.Context, ref string) (*backstage.Entity, error) {
		if calls.Add(1) < 4 { // the catalog has not processed the edit yet
			return nil, notFound(ref)
		}
		return orders, nil
	}
	opts := Options{SettleUntil: time.Now().Add(5 * time.Second), RetryInterval: 5 * time.Millisecond}
	rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != Pass || rep.ExitCode() != ExitPass || rep.Passed != 1 {
		t.Fatalf("report = %+v", rep.Tasks)
	}

	// Without SettleUntil, one attempt: still failing.
	calls.Store(0)
	rep, err = Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != Fail || rep.ExitCode() != ExitFailed {
		t.Fatalf("one pass: verdict %s", rep.Verdict)
	}
}

func TestRunGivesUpAtSettleUntil(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"))
	start := time.Now()
	rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{SettleUntil: start.Add(150 * time.Millisecond), RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != Fail {
		t.Fatalf("verdict = %s", rep.Verdict)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > time.Second {
		t.Errorf("took %s, want about 150ms", d)
	}
	if n := f.calls["Entity"]; n < 5 {
		t.Errorf("only %d attempts", n)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"))
	f.entityHook = func(ctx context.Context, _ string) (*backstage.Entity, error) {
		<-ctx.Done() // a backend that never answers
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, Env{API: f}, testLab(existsCheck, existsCheck, existsCheck), Options{SettleUntil: time.Now().Add(time.Hour)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s to stop", d)
	}
}

func TestRunCheckTimeoutIsNotReady(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"))
	f.entityHook = func(ctx context.Context, _ string) (*backstage.Entity, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{CheckTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Tasks[0].Checks[0]
	assertResult(t, got, NotReady, "", "Backstage did not answer within 30ms")
	if rep.Verdict != NotReady || rep.ExitCode() != ExitNotReady || rep.NotReady == "" {
		t.Errorf("report verdict %s, NotReady %q", rep.Verdict, rep.NotReady)
	}
}

func TestRunBoundsParallelism(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"))
	var mu sync.Mutex
	running, peak := 0, 0
	orders := ordersEntity(t)
	f.entityHook = func(context.Context, string) (*backstage.Entity, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return orders, nil
	}
	checks := make([]labs.Check, 12)
	for i := range checks {
		checks[i] = existsCheck
	}
	rep, err := Run(t.Context(), Env{API: f}, testLab(checks...), Options{Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 12 || peak > 3 || peak < 2 {
		t.Errorf("passed %d, peak concurrency %d (want 2..3)", rep.Passed, peak)
	}
}

func TestRunSelectsTasks(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"), ordersEntity(t))
	lab := testLab(existsCheck, labs.Check{Type: "entity", Entity: "component:default/cart"}, existsCheck)
	rep, err := Run(t.Context(), Env{API: f}, lab, Options{Tasks: []string{"task-3", "task-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total != 2 || rep.Tasks[0].ID != "task-1" || rep.Tasks[1].ID != "task-3" || rep.Verdict != Pass {
		t.Errorf("report = %+v", rep)
	}
	_, err = Run(t.Context(), Env{API: f}, lab, Options{Tasks: []string{"task-9"}})
	if err == nil || !strings.Contains(err.Error(), `lab demo has no task "task-9"; its tasks are: task-1, task-2, task-3`) {
		t.Errorf("err = %v", err)
	}
}

func TestRunTaskVerdicts(t *testing.T) {
	f := newFake(location(t, "catalog/orders.yaml"), ordersEntity(t))
	lab := testLab(existsCheck)
	lab.Tasks[0].Checks = append(lab.Tasks[0].Checks, labs.Check{Type: "entity", Entity: "component:default/cart", Name: "cart exists"})
	rep, err := Run(t.Context(), Env{API: f}, lab, Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := rep.Tasks[0]
	if task.Verdict != Fail || task.Checks[0].Verdict != Pass || task.Checks[1].Verdict != Fail ||
		task.Checks[1].Name != "cart exists" || task.Checks[0].Name != "component:default/orders is in the catalog" {
		t.Errorf("task = %+v", task)
	}
}
