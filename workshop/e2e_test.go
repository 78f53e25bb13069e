package workshop

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// browser starts Debian's headless Chromium (never a downloaded one) with a throwaway profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts Chromium")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + " (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 640),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestE2EWorkshopDashboard opens the instructor's dashboard in headless Chromium while simulated learners
// report, and checks the grid: the right verdict in each cell, the completion counts, the learner
// without progress highlighted, the token gone from the address bar, and a new result shown live.
// It saves a screenshot to test-artifacts/workshop-dashboard.png.
func TestE2EWorkshopDashboard(t *testing.T) {
	ctx := browser(t)
	st := openTestStore(t, "")
	ws, err := st.CreateWorkshop(t.Context(), "CBA prep, room 2", testLabs(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	stop := startServer(t, st, ws, addr, Limits{})
	defer stop()
	base := "http://" + addr

	now := time.Now()
	learner := func(name string, joined time.Time) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "workshop")
		if joined.IsZero() {
			m, err := Join(t.Context(), nil, base, ws.JoinCode, name)
			if err != nil {
				t.Fatal(err)
			}
			if err := SaveMembership(dir, m); err != nil {
				t.Fatal(err)
			}
			return dir
		}
		// Joined long ago, through the store, to have someone without progress for a while.
		_, token, err := st.Join(t.Context(), ws.ID, name, joined)
		if err != nil {
			t.Fatal(err)
		}
		if err := SaveMembership(dir, &Membership{Server: base, WorkshopID: ws.ID, Name: name, Token: token, Labs: []string{"catalog-relations"}}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	report := func(dir string, checkedAt time.Time, tasks ...TaskResult) {
		t.Helper()
		d, err := Deliver(t.Context(), nil, dir, result("catalog-relations", Fail, checkedAt, tasks...))
		if err != nil || d.Err != nil || d.Sent == 0 {
			t.Fatalf("Deliver: %+v %v", d, err)
		}
	}
	ada := learner("Ada", time.Time{})
	bob := learner("Bob", time.Time{})
	carol := learner("Carol", now.Add(-25*time.Minute))
	learner("Dan", time.Time{})
	report(ada, now.Add(-9*time.Minute), task("owner-ref", Fail, 0), task("system-in-domain", Fail, 0), task("depends-on", Fail, 0))
	report(ada, now.Add(-5*time.Minute), task("owner-ref", Pass, 1), task("system-in-domain", Fail, 0), task("depends-on", Fail, 0))
	report(ada, now.Add(-1*time.Minute), task("owner-ref", Pass, 1), task("system-in-domain", Pass, 0), task("depends-on", Fail, 2))
	report(bob, now.Add(-4*time.Minute), task("owner-ref", Fail, 0), task("system-in-domain", Fail, 0), task("depends-on", Fail, 0))
	report(bob, now.Add(-2*time.Minute), task("owner-ref", Pass, 0), task("system-in-domain", Fail, 1), task("depends-on", Fail, 0))
	report(carol, now.Add(-20*time.Minute), task("owner-ref", Fail, 3), task("system-in-domain", Fail, 0), task("depends-on", Fail, 0))

	cell := func(name, task string) string {
		return `td[data-learner="` + name + `"][data-task="catalog-relations/` + task + `"]`
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/dashboard#token="+ws.InstructorToken),
		chromedp.WaitVisible(cell("Ada", "system-in-domain")+`[data-verdict="pass"]`),
	); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	url := run(t, ctx, chromedp.Location())
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#grid tbody tr").length`))
	verdicts := run(t, ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("td.cell")].map(td => [td.dataset.learner + " " + td.dataset.task, td.dataset.verdict]))`))
	doneOwnerRef := run(t, ctx, chromedp.Text(`tfoot tr.done th[data-task="catalog-relations/owner-ref"]`))
	carolClass := run(t, ctx, chromedp.AttributeValue(`tr[data-learner="Carol"]`, "class")).Value
	if url != base+"/dashboard" {
		t.Errorf("address bar = %s: the token should be gone from it", url)
	}
	if rows != 4 {
		t.Errorf("%d learner rows, want 4", rows)
	}
	want := map[string]string{
		"Ada catalog-relations/owner-ref":        Pass,
		"Ada catalog-relations/system-in-domain": Pass,
		"Ada catalog-relations/depends-on":       Fail,
		"Bob catalog-relations/owner-ref":        Pass,
		"Bob catalog-relations/system-in-domain": Fail,
		"Carol catalog-relations/owner-ref":      Fail,
		"Dan catalog-relations/owner-ref":        "",
		"Dan templates-anatomy/steps":            "",
	}
	for k, v := range want {
		if got, ok := verdicts[k]; !ok || got != v {
			t.Errorf("cell %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if len(verdicts) != 4*5 {
		t.Errorf("%d cells, want 4 learners × 5 tasks", len(verdicts))
	}
	if doneOwnerRef != "2/4" {
		t.Errorf("owner-ref done = %q, want 2/4", doneOwnerRef)
	}
	if carolClass != "stale" {
		t.Errorf("Carol's row class = %q, want stale (no progress for 25 minutes)", carolClass)
	}

	// Live: Bob's next `lab check` passes system-in-domain; the dashboard shows it without a reload.
	start := time.Now()
	report(bob, time.Now(), task("owner-ref", Pass, 0), task("system-in-domain", Pass, 1), task("depends-on", Fail, 0))
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = chromedp.Do(wctx, chromedp.WaitVisible(cell("Bob", "system-in-domain")+`[data-verdict="pass"]`))
	cancel()
	if err != nil {
		t.Fatalf("Bob's pass not on the dashboard within 2 s: %v", err)
	}
	t.Logf("lab check result to dashboard cell (Deliver, server, event stream, render): %v", time.Since(start))
	// A learner joining now appears too.
	erin := learner("Erin", time.Time{})
	report(erin, time.Now(), task("owner-ref", Fail, 0))
	wctx, cancel = context.WithTimeout(ctx, 2*time.Second)
	err = chromedp.Do(wctx, chromedp.WaitVisible(cell("Erin", "owner-ref")+`[data-verdict="fail"]`))
	cancel()
	if err != nil {
		t.Fatalf("new learner not shown live: %v", err)
	}
	if done := run(t, ctx, chromedp.Text(`tfoot tr.done th[data-task="catalog-relations/system-in-domain"]`)); done != "2/5" {
		t.Errorf("system-in-domain done = %q, want 2/5", done)
	}

	png := run(t, ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "workshop-dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

// run runs one browser action and returns its value, failing the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}
