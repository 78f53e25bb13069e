package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/docker"
	"github.com/backstage-lab/lab/provision/image"
)

const chromiumPath = "/usr/bin/chromium"

// startLabCopy starts the built-in catalog-relations lab through provision, under a unique slug: sessions
// are keyed by slug, so the test never takes over a learner's (or another test's) catalog-relations session.
// Everything it starts is destroyed when the test ends.
func startLabCopy(t *testing.T, tasks []labs.Task) *provision.Session {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts Backstage in Docker")
	}
	if !dockerAvailable() {
		t.Skip("needs a Docker daemon")
	}
	eng, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	cat, err := labs.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	orig, err := cat.Get("catalog-relations")
	if err != nil {
		t.Fatal(err)
	}
	lab := *orig
	b := make([]byte, 3)
	for i := range b {
		b[i] = byte(rand.N(256))
	}
	lab.Slug = "e2e-ui-" + hex.EncodeToString(b)
	if tasks != nil {
		lab.Tasks = tasks
	}

	var ca []byte
	for _, env := range []string{"LAB_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
		if p := os.Getenv(env); p != "" && ca == nil {
			if ca, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := t.Context()
	start := time.Now()
	ref, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: image.Backstage(), CABundle: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s ready in %s", ref, time.Since(start).Round(100*time.Millisecond))
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if t.Failed() {
			if s, err := provision.Find(cctx, eng, lab.Slug); err == nil && s.Backstage != nil {
				var logs strings.Builder
				_ = eng.Logs(cctx, s.Backstage.ID, false, "40", &logs)
				t.Logf("last Backstage log lines:\n%s", logs.String())
			}
		}
		if _, err := provision.Destroy(cctx, eng, lab.Slug, provision.Discard); err != nil {
			t.Logf("destroy %s: %v", lab.Slug, err)
		}
	})
	start = time.Now()
	s, err := provision.Start(ctx, eng, provision.StartOptions{
		Lab: &lab, Workspace: filepath.Join(t.TempDir(), "workspace"), State: provision.StateDir(t.TempDir()),
		BackstageImage: ref, PostgresImage: provision.PostgresImage, Wait: 3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lab %s ready at %s in %s", lab.Slug, s.URL(), time.Since(start).Round(100*time.Millisecond))
	return s
}

// headlessChromium starts Debian's Chromium (never a downloaded one), headless, with a throwaway profile.
func headlessChromium(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts Chromium")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no " + chromiumPath + " (apt-get install chromium; hack/setup-host.sh does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// browse runs one browser action and returns its value, failing the test (with a screenshot) on error.
func browse[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		saveScreenshot(t, ctx, "backstage-ui-failed.png")
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// saveScreenshot writes a full-page screenshot to test-artifacts/ (gitignored).
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	dir := filepath.Join("..", "..", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", p)
}

// waitText waits until the page's visible text contains every one of the strings.
func waitText(texts ...string) chromedp.Action[bool] {
	var conds []string
	for _, s := range texts {
		conds = append(conds, "document.body && document.body.innerText.includes("+jsString(s)+")")
	}
	return chromedp.Poll[bool](strings.Join(conds, " && "), chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestE2EBackstageUI starts catalog-relations and drives the Backstage UI the lab image serves in headless
// Chromium: the learner lands in the catalog already signed in, sees payments-api from their workspace,
// opens its entity page and finds the relations the lab's fixtures give it (owned by team-payments from
// /fixtures/org.yaml, part of the payments system) in the About card and the catalog graph. A failed check
// links to the same page. The screenshot goes to test-artifacts/backstage-ui-entity.png.
func TestE2EBackstageUI(t *testing.T) {
	ctx := headlessChromium(t)
	s := startLabCopy(t, nil)
	base := s.URL()

	// The catalog, without a sign-in page to click through.
	browse(t, ctx, "open "+base, chromedp.Navigate(base))
	browse(t, ctx, "catalog lists payments-api", waitText("payments-api", "payments-worker"))
	if loc := browse(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, base+"/catalog") {
		t.Errorf("%s redirected to %s, want the catalog at %s/catalog", base, loc, base)
	}
	saveScreenshot(t, ctx, "backstage-ui-catalog.png")

	// The entity page, reached by clicking the entity in the table.
	entityPath := "/catalog/default/component/payments-api"
	browse(t, ctx, "click payments-api", chromedp.Click(chromedp.CSS(`a[href="`+entityPath+`"]`), chromedp.NodeVisible))
	browse(t, ctx, "entity page", waitText("About", "Relations"))
	// The About card links the owner group (a fixture) and the system.
	browse(t, ctx, "owner link", chromedp.WaitVisible(chromedp.CSS(`a[href="/catalog/default/group/team-payments"]`)))
	browse(t, ctx, "system link", chromedp.WaitVisible(chromedp.CSS(`a[href="/catalog/default/system/payments"]`)))
	// The catalog graph draws the relations, with their names.
	browse(t, ctx, "relations graph", waitText("Team Payments", "ownedBy", "partOf"))
	if loc := browse(t, ctx, "location", chromedp.Location()); loc != base+entityPath {
		t.Errorf("entity page at %s, want %s", loc, base+entityPath)
	}
	saveScreenshot(t, ctx, "backstage-ui-entity.png")

	// lab check's failure messages link to the entity's page in this UI.
	lab, err := labs.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cr, err := lab.Get("catalog-relations")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := checks.Run(t.Context(), sessionEnv(s), cr, checks.Options{Tasks: []string{"owner-ref"}})
	if err != nil {
		t.Fatal(err)
	}
	link := base + "/catalog/default/component/payments-worker"
	var msgs []string
	for _, tr := range rep.Tasks {
		for _, c := range tr.Checks {
			msgs = append(msgs, c.Message)
		}
	}
	if !strings.Contains(strings.Join(msgs, "\n"), link) {
		t.Errorf("owner-ref failure messages do not link to %s:\n%s", link, strings.Join(msgs, "\n"))
	}
	browse(t, ctx, "open the link", chromedp.Navigate(link))
	browse(t, ctx, "payments-worker page", waitText("payments-worker", "About"))
}

// TestE2ECheckerSignIn runs permission checks against a live lab: the checker signs in as a catalog user
// through the image's checker-only sign-in, and the allow-all policy answers ALLOW; a user the catalog
// does not have fails the check with a message saying so (the learner's fault, not the environment's).
func TestE2ECheckerSignIn(t *testing.T) {
	perm := func(user, permission, resource string) labs.Check {
		return labs.Check{Type: "permission", User: user, Permission: permission, Resource: resource, Decision: "ALLOW"}
	}
	tasks := []labs.Task{
		{ID: "alice", Title: "alice may read and create", Checks: []labs.Check{
			perm("user:default/alice", "catalog.entity.read", "component:default/payments-api"),
			perm("user:default/alice", "catalog.entity.create", ""),
		}},
		{ID: "nobody", Title: "an unknown user", Checks: []labs.Check{
			perm("user:default/nobody", "catalog.entity.read", "component:default/payments-api"),
		}},
	}
	s := startLabCopy(t, tasks)
	cat, err := labs.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	lab, err := cat.Get("catalog-relations")
	if err != nil {
		t.Fatal(err)
	}
	l := *lab
	l.Tasks = tasks
	rep, err := checks.Run(t.Context(), sessionEnv(s), &l, checks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Tasks[0]; got.Verdict != checks.Pass {
		t.Errorf("alice's permission checks: %s, want pass: %+v", got.Verdict, got.Checks)
	}
	got := rep.Tasks[1].Checks[0]
	if got.Verdict != checks.Fail || !strings.Contains(got.Message, "user:default/nobody") || !strings.Contains(got.Message, "not in the catalog") {
		t.Errorf("unknown user: %s %q, want a failure saying user:default/nobody is not in the catalog", got.Verdict, got.Message)
	}

	// Only the checker's static token signs in: no token, a wrong one, or a user's token is refused.
	if _, err := backstage.New(s.URL(), "").UserToken(t.Context(), "alice"); !errors.Is(err, backstage.ErrUnauthorized) {
		t.Errorf("sign-in without a token: %v, want 401", err)
	}
	if _, err := backstage.New(s.URL(), "not-the-lab-token").UserToken(t.Context(), "alice"); !errors.Is(err, backstage.ErrUnauthorized) {
		t.Errorf("sign-in with a wrong token: %v, want 401", err)
	}
	status, body, err := backstage.New(s.URL(), "").Do(t.Context(), "GET", "/api/auth/guest/refresh", nil)
	if err != nil || status != 200 {
		t.Fatalf("guest sign-in: %d %s %v", status, body, err)
	}
	var id struct {
		BackstageIdentity struct{ Token string } `json:"backstageIdentity"`
	}
	if err := json.Unmarshal(body, &id); err != nil || id.BackstageIdentity.Token == "" {
		t.Fatalf("guest sign-in answer %s: %v", body, err)
	}
	if _, err := backstage.New(s.URL(), id.BackstageIdentity.Token).UserToken(t.Context(), "alice"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("sign-in with a user's token: %v, want 403", err)
	}
}
