package checks_test

// Live tests: every check type against a real Backstage backend (the lab image) and PostgreSQL, started
// with testcontainers-go once per test binary and shared by all TestLive* tests. They do not use
// provision's session code, so the checks are tested against Backstage, not against lab's provisioning.
//
//	TESTCONTAINERS_RYUK_DISABLED=true go test -count=1 -run TestLive ./checks/
//
// Skipped under -short and when Docker does not answer. The Backstage image is built (provision.EnsureImages,
// trusting $LAB_CA_BUNDLE or $NODE_EXTRA_CA_CERTS) when it is missing; without the base images
// (node:22-bookworm-slim, postgres:17) the tests skip: `make setup` makes them.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/docker"
	"github.com/backstage-lab/lab/provision/image"
)

// TestMain removes what the live tests started (the environment outlives the test that started it).
func TestMain(m *testing.M) {
	code := m.Run()
	live.teardown()
	os.Exit(code)
}

// liveWorkspace is the learner's workspace of the live tests, mounted read-only at /workspace.
var liveWorkspace = map[string]string{
	"catalog/entities.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: checkout
spec:
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes orders
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: checkout
  dependsOn:
    - resource:orders-db
    - resource:ghost-db
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  lifecycle: production
  owner: team-a
  dependsOn:
    - component:orders-db
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
spec:
  type: database
  owner: team-a
`,
	// Never valid (no spec.owner): the catalog does not serve it, the unprocessed-entities module lists it.
	"catalog/broken.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken
spec:
  type: service
  lifecycle: production
`,
	// Does not parse: the error sits on its Location entity.
	"catalog/syntax-error.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: unreadable
 description: bad indent
spec: {}
`,
	"docs-site/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: docs-site
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: website
  lifecycle: production
  owner: team-a
`,
	"docs-site/mkdocs.yml":    "site_name: Docs site\nnav:\n  - Home: index.md\n",
	"docs-site/docs/index.md": "# Welcome to the docs site\n\nThe orders service keeps its data in PostgreSQL.\n",
	"templates/hello/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
  title: Hello
spec:
  owner: team-a
  type: service
  parameters:
    - title: Name
      required: [name]
      properties:
        name:
          type: string
          pattern: '^[a-z][a-z0-9-]*$'
  steps:
    - id: fetch
      name: Fetch the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
    - id: log
      name: Say hello
      action: debug:log
      input:
        message: Created ${{ parameters.name }}
  output:
    links:
      - title: Repository
        url: https://example.com/${{ parameters.name }}
`,
	"templates/hello/skeleton/README.md": "# ${{ values.name }}\n\nMade from the hello template.\n",
	"config/app-config.yaml":             "app:\n  title: My portal\ncatalog:\n  processingInterval:\n    seconds: 5\n",
	"config/tabbed.yaml":                 "app:\n  title: My portal\nbackend:\n\tbaseUrl: http://localhost:7007\n",
}

// liveLocations are the workspace catalog files Backstage reads (static locations in /config).
var liveLocations = []string{"catalog/entities.yaml", "catalog/broken.yaml", "catalog/syntax-error.yaml", "docs-site/catalog-info.yaml"}

func TestLiveEntity(t *testing.T) {
	runLive(t, []liveCase{
		{name: "exists with fields", want: checks.Pass,
			check: `{type: entity, entity: "component:default/orders", fields: {spec.owner: team-a, spec.lifecycle: production, metadata.description: Takes orders}}`},
		{name: "annotation path", want: checks.Pass,
			check: `{type: entity, entity: "component:default/docs-site", fields: {metadata.annotations.backstage.io/techdocs-ref: "dir:."}}`},
		{name: "absent", want: checks.Pass, check: `{type: entity, entity: "component:default/nope", absent: true}`},
		{name: "wrong field value", want: checks.Fail,
			check: `{type: entity, entity: "component:default/orders", fields: {spec.lifecycle: experimental}}`,
			msg:   []string{`In component:default/orders, spec.lifecycle is "production", expected "experimental"`},
			where: "catalog/entities.yaml:30 (component:default/orders)"},
		{name: "present but should be absent", want: checks.Fail,
			check: `{type: entity, entity: "component:default/orders", absent: true}`,
			msg:   []string{"component:default/orders is still in the catalog, read from catalog/entities.yaml"}},
		{name: "rejected by validation", want: checks.Fail,
			check: `{type: entity, entity: "component:default/broken"}`,
			msg:   []string{"component:default/broken is not in the catalog", "Backstage read it from catalog/broken.yaml but rejected it", "owner"},
			where: "catalog/broken.yaml"},
		{name: "in a file that does not parse", want: checks.Fail,
			check: `{type: entity, entity: "component:default/unreadable"}`,
			msg:   []string{"component:default/unreadable is not in the catalog", "Backstage could not read this file: catalog/syntax-error.yaml", "YAML"},
			where: "catalog/syntax-error.yaml"},
	})
}

func TestLiveRelation(t *testing.T) {
	runLive(t, []liveCase{
		{name: "dependsOn", want: checks.Pass, check: `{type: relation, entity: "component:default/orders", relation: dependsOn, target: "resource:default/orders-db"}`},
		{name: "ownedBy", want: checks.Pass, check: `{type: relation, entity: "component:default/orders", relation: ownedBy, target: "group:default/team-a"}`},
		{name: "partOf system", want: checks.Pass, check: `{type: relation, entity: "component:default/orders", relation: partOf, target: "system:default/checkout"}`},
		{name: "absent", want: checks.Pass, check: `{type: relation, entity: "component:default/payments", relation: dependsOn, target: "resource:default/orders-db", absent: true}`},
		{name: "target not in the catalog", want: checks.Fail,
			check: `{type: relation, entity: "component:default/orders", relation: dependsOn, target: "resource:default/ghost-db"}`,
			msg:   []string{"component:default/orders has dependsOn resource:default/ghost-db, but that points to resource:default/ghost-db, which is not in the catalog"},
			where: "catalog/entities.yaml"},
		{name: "other way round", want: checks.Fail,
			check: `{type: relation, entity: "resource:default/orders-db", relation: dependsOn, target: "component:default/orders"}`,
			msg:   []string{"resource:default/orders-db has no relation dependsOn component:default/orders", "The relation points the other way: write spec.dependsOn on resource:default/orders-db"}},
		{name: "wrong kind prefix", want: checks.Fail,
			check: `{type: relation, entity: "component:default/payments", relation: dependsOn, target: "resource:default/orders-db"}`,
			msg:   []string{"the kind prefix is wrong: component instead of resource", "which is not in the catalog"}},
		{name: "relation still there", want: checks.Fail,
			check: `{type: relation, entity: "component:default/orders", relation: dependsOn, target: "resource:default/orders-db", absent: true}`,
			msg:   []string{"component:default/orders still has the relation dependsOn resource:default/orders-db"}},
	})
}

func TestLiveEntityValid(t *testing.T) {
	runLive(t, []liveCase{
		{name: "valid", want: checks.Pass, check: `{type: entity-valid, entity: "component:default/orders"}`},
		{name: "rejected entity", want: checks.Fail,
			check: `{type: entity-valid, entity: "component:default/broken"}`,
			msg:   []string{"Backstage read it from catalog/broken.yaml but rejected it", "must have required property 'owner'"}},
	})
}

func TestLiveFileYAML(t *testing.T) {
	rep := runLive(t, []liveCase{
		{name: "value", want: checks.Pass, check: `{type: file-yaml, file: config/app-config.yaml, path: catalog.processingInterval.seconds, equals: 5}`},
		{name: "selected document", want: checks.Pass, check: `{type: file-yaml, file: catalog/entities.yaml, select: Component/orders, path: spec.system, equals: checkout}`},
		{name: "tab", want: checks.Fail,
			check: `{type: file-yaml, file: config/tabbed.yaml}`,
			msg:   []string{"config/tabbed.yaml:4 is not valid YAML", "TAB"},
			where: "config/tabbed.yaml:4"},
		{name: "wrong value", want: checks.Fail,
			check: `{type: file-yaml, file: config/app-config.yaml, path: catalog.processingInterval.seconds, equals: 10}`,
			msg:   []string{"catalog.processingInterval.seconds in config/app-config.yaml:5 is 5, expected 10"}},
	})
	if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.HasPrefix(p, "config/tabbed.yaml:4: ") }) {
		t.Errorf("report problems %q lack config/tabbed.yaml:4", rep.Problems)
	}
}

func TestLiveDryRun(t *testing.T) {
	runLive(t, []liveCase{
		{name: "produces files and output", want: checks.Pass,
			check: `{type: dry-run, template: templates/hello/template.yaml, values: {name: shop}, expect: {files: [README.md], ` +
				`fileContains: {README.md: "^# shop"}, output: {links.0.url: "https://example.com/shop"}, log: "Created shop"}}`},
		{name: "expected validation error", want: checks.Pass,
			check: `{type: dry-run, template: templates/hello/template.yaml, values: {name: "Not A Name"}, expect: {status: 400, error: "does not match pattern"}}`},
		{name: "invalid value", want: checks.Fail,
			check: `{type: dry-run, template: templates/hello/template.yaml, values: {name: "Not A Name"}, expect: {files: [README.md]}}`,
			msg:   []string{"The scaffolder's dry-run of templates/hello/template.yaml answered 400, expected 200", "does not match pattern"}},
		{name: "missing file and wrong output", want: checks.Fail,
			check: `{type: dry-run, template: templates/hello/template.yaml, values: {name: shop}, expect: {files: [catalog-info.yaml], output: {links.0.url: "https://example.com/other"}}}`,
			msg:   []string{"it did not produce catalog-info.yaml (it produced README.md)", `output links.0.url is "https://example.com/shop", expected "https://example.com/other"`}},
	})
}

func TestLiveTechDocs(t *testing.T) {
	runLive(t, []liveCase{
		{name: "page contains", want: checks.Pass, check: `{type: techdocs, entity: "component:default/docs-site", contains: "keeps its data in postgresql"}`},
		{name: "page lacks text", want: checks.Fail,
			check: `{type: techdocs, entity: "component:default/docs-site", contains: "Kubernetes"}`,
			msg:   []string{"component:default/docs-site does not contain \"Kubernetes\"; it starts:", "Welcome to the docs site"}},
		{name: "no such entity", want: checks.Fail,
			check: `{type: techdocs, entity: "component:default/no-docs", contains: "anything"}`,
			msg:   []string{"component:default/no-docs is not in the catalog"}},
	})
}

func TestLivePermission(t *testing.T) {
	// The image's allow-all policy allows everything: DENY expectations fail. The checker signs in as a
	// catalog user with backstage.Client.UserToken (the permission backend refuses the static token).
	runLive(t, []liveCase{
		{name: "resource permission", want: checks.Pass,
			check: `{type: permission, user: "user:default/alice", permission: catalog.entity.read, resource: "component:default/orders", decision: ALLOW}`},
		{name: "basic permission", want: checks.Pass,
			check: `{type: permission, user: "user:default/alice", permission: catalog.entity.create, decision: ALLOW}`},
		{name: "other decision", want: checks.Fail,
			check: `{type: permission, user: "user:default/alice", permission: catalog.entity.delete, resource: "component:default/orders", decision: DENY}`,
			msg:   []string{"Backstage answers ALLOW when user:default/alice asks for catalog.entity.delete on component:default/orders; expected DENY"}},
		{name: "unknown user", want: checks.Fail,
			check: `{type: permission, user: "user:default/nobody", permission: catalog.entity.read, decision: ALLOW}`,
			msg:   []string{"Could not sign in as user:default/nobody: that user is not in the catalog"}},
	})
}

func TestLiveHTTP(t *testing.T) {
	runLive(t, []liveCase{
		{name: "get json", want: checks.Pass,
			check: `{type: http, url: /api/catalog/entities/by-name/component/default/orders, status: 200, json: {spec.owner: team-a, metadata.name: orders}}`},
		{name: "post body", want: checks.Pass,
			check: `{type: http, method: post, url: /api/catalog/entities/by-refs, body: {entityRefs: ["component:default/orders", "component:default/nope"]}, json: {items.0.spec.type: service, items.1: null}}`},
		{name: "status", want: checks.Fail,
			check: `{type: http, url: /api/catalog/entities/by-name/component/default/nope, status: 200}`,
			msg:   []string{"GET /api/catalog/entities/by-name/component/default/nope answered 404, expected 200", "NotFoundError"}},
		{name: "json value", want: checks.Fail,
			check: `{type: http, url: /api/catalog/entities/by-name/component/default/orders, json: {spec.owner: team-b, spec.nothing: 1}}`,
			msg:   []string{`spec.nothing is not set, expected 1`, `spec.owner is "team-a", expected "team-b"`}},
	})
}

// liveCase is one check, written as a YAML flow mapping, and what it must give against the live backend.
type liveCase struct {
	name  string
	check string
	want  checks.Verdict
	msg   []string // substrings of the message
	where string   // substring of where
}

// runLive runs the cases as the tasks of one lab against the shared live environment and checks each
// verdict and message. Cases that should pass get time to settle (the catalog is eventually
// consistent); cases that should fail run once, so a check that passes by mistake is not waited for.
func runLive(t *testing.T, cases []liveCase) *checks.Report {
	t.Helper()
	env := startLive(t)

	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nslug: live\ntitle: Live checks\ndomain: D3\ntopic: catalog\nminutes: 1\n", labs.APIVersion)
	fmt.Fprintf(&b, "fixtures:\n  locations: [%s]\ntasks:\n", strings.Join(liveLocations, ", "))
	var passIDs, failIDs []string
	for i, c := range cases {
		id := fmt.Sprintf("case-%d", i+1)
		fmt.Fprintf(&b, "  - id: %s\n    title: %q\n    instructions: live test case\n    checks:\n      - %s\n", id, c.name, c.check)
		if c.want == checks.Pass {
			passIDs = append(passIDs, id)
		} else {
			failIDs = append(failIDs, id)
		}
	}
	files := fstest.MapFS{}
	for name, content := range liveWorkspace {
		files["workspace/"+name] = &fstest.MapFile{Data: []byte(content)}
	}
	lab, err := labs.Parse([]byte(b.String()), "live.yaml", files)
	if err != nil {
		t.Fatalf("lab: %v\n%s", err, b.String())
	}

	results := map[string]checks.CheckResult{}
	var report *checks.Report
	for _, run := range []struct {
		ids    []string
		settle time.Duration
	}{{passIDs, 20 * time.Second}, {failIDs, 0}} {
		if len(run.ids) == 0 {
			continue
		}
		opts := checks.Options{Tasks: run.ids}
		if run.settle > 0 {
			opts.SettleUntil = time.Now().Add(run.settle)
		}
		rep, err := checks.Run(t.Context(), env.checks, lab, opts)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		for _, tr := range rep.Tasks {
			if len(tr.Checks) != 1 {
				t.Fatalf("task %s has %d results, want 1; report %s: %s", tr.ID, len(tr.Checks), rep.Verdict, rep.NotReady)
			}
			results[tr.ID] = tr.Checks[0]
		}
		report = rep
	}

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := results[fmt.Sprintf("case-%d", i+1)]
			t.Logf("%s: %s %s (where %s)", got.Name, got.Verdict, got.Message, got.Where)
			if got.Verdict != c.want {
				t.Fatalf("verdict = %s, want %s; message: %s", got.Verdict, c.want, got.Message)
			}
			for _, m := range c.msg {
				if !strings.Contains(got.Message, m) {
					t.Errorf("message lacks %q:\n%s", m, got.Message)
				}
			}
			if !strings.Contains(got.Where, c.where) {
				t.Errorf("where = %q, want it to contain %q", got.Where, c.where)
			}
		})
	}
	return report
}

// liveEnv is the shared environment: what the checks run against (Backstage, with PostgreSQL on their
// own network, and the workspace mounted at /workspace).
type liveEnv struct {
	checks checks.Env
}

// liveState holds the shared environment and everything teardown removes.
type liveState struct {
	once sync.Once
	env  *liveEnv
	skip string // why the live tests cannot run here
	err  error  // why starting the environment failed

	mu         sync.Mutex
	containers []*testcontainers.DockerContainer // backstage, postgres
	network    *testcontainers.DockerNetwork
	dirs       []string
}

var live liveState

// startLive skips under -short, else starts the shared environment on first use (skipping when Docker
// or the images are not there) and, when the calling test fails, logs the containers' output.
func startLive(t *testing.T) *liveEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("live test: needs Docker and the lab images; skipped under -short")
	}
	live.once.Do(func() {
		start := time.Now()
		live.env, live.skip, live.err = setUpLive(t.Context(), t)
		if live.env != nil {
			t.Logf("live environment ready in %s", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if live.skip != "" {
		t.Skip(live.skip)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t)
		}
	})
	if live.err != nil {
		t.Fatalf("start the live environment: %v", live.err)
	}
	return live.env
}

// setUpLive makes sure the images exist, writes the workspace and config, starts PostgreSQL and
// Backstage, and waits until the catalog has processed the workspace. A non-empty skip means the tests
// cannot run on this machine.
func setUpLive(ctx context.Context, t *testing.T) (_ *liveEnv, skip string, _ error) {
	eng, err := docker.New()
	if err != nil {
		return nil, fmt.Sprintf("no Docker: %v", err), nil
	}
	defer eng.Close()
	if err := eng.Ping(ctx); err != nil {
		return nil, fmt.Sprintf("Docker is not available: %v", err), nil
	}
	bsImage, skip, err := liveImages(ctx, t, eng)
	if skip != "" || err != nil {
		return nil, skip, err
	}

	workspace, err := liveDir("lab-live-workspace-")
	if err != nil {
		return nil, "", err
	}
	for name, content := range liveWorkspace {
		p := filepath.Join(workspace, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, "", err
		}
	}
	configDir, err := liveDir("lab-live-config-")
	if err != nil {
		return nil, "", err
	}
	var locs strings.Builder
	locs.WriteString("catalog:\n  locations:\n")
	for _, l := range liveLocations {
		fmt.Fprintf(&locs, "    - type: file\n      target: /workspace/%s\n", l)
	}
	if err := os.WriteFile(filepath.Join(configDir, "10-locations.yaml"), []byte(locs.String()), 0o644); err != nil {
		return nil, "", err
	}

	nw, err := network.New(ctx)
	if nw != nil {
		live.mu.Lock()
		live.network = nw
		live.mu.Unlock()
	}
	if err != nil {
		if strings.Contains(err.Error(), "reaper") {
			err = fmt.Errorf("%w\n(without a registry the reaper image cannot be pulled: set TESTCONTAINERS_RYUK_DISABLED=true; "+
				"the live tests remove what they start)", err)
		}
		return nil, "", fmt.Errorf("create network: %w", err)
	}

	token, password := randomHex(16), randomHex(16)
	pg, err := testcontainers.Run(ctx, provision.PostgresImage,
		network.WithNetwork([]string{"postgres"}, nw),
		testcontainers.WithEnv(map[string]string{"POSTGRES_USER": "backstage", "POSTGRES_PASSWORD": password}),
		testcontainers.WithExposedPorts("5432/tcp"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = loopback("5432/tcp", 0)
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").WithStartupTimeout(time.Minute)),
	)
	keep(pg)
	if err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}

	// The backend must know its own URL (LAB_BASE_URL) before it starts: choose the host port first, and
	// choose again when another process took it meanwhile.
	var baseURL string
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		baseURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		bs, err := testcontainers.Run(ctx, bsImage,
			network.WithNetwork(nil, nw),
			testcontainers.WithEnv(map[string]string{
				"LAB_TOKEN":         token,
				"LAB_BASE_URL":      baseURL,
				"POSTGRES_HOST":     "postgres",
				"POSTGRES_PORT":     "5432",
				"POSTGRES_USER":     "backstage",
				"POSTGRES_PASSWORD": password,
			}),
			testcontainers.WithExposedPorts("7007/tcp"),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = loopback("7007/tcp", port)
				hc.Binds = []string{workspace + ":/workspace:ro", configDir + ":/config:ro"}
			}),
			testcontainers.WithWaitStrategyAndDeadline(3*time.Minute, readiness{backstage.New(baseURL, "")}),
		)
		keep(bs)
		if err == nil {
			break
		}
		if attempt < 2 && strings.Contains(err.Error(), "already allocated") {
			continue
		}
		return nil, "", fmt.Errorf("start backstage: %w", err)
	}

	client := backstage.New(baseURL, token)
	env := &liveEnv{checks: checks.Env{API: client, Workspace: workspace, UserToken: client.UserToken}}
	if err := waitForCatalog(ctx, client); err != nil {
		return nil, "", err
	}
	return env, "", nil
}

// readiness waits until Backstage's readiness endpoint answers 200 at the URL we published it on, and
// fails fast when the container exits. (wait.ForHTTP would ask testcontainers for the host, which is the
// bridge gateway when the tests run inside a container: not where a 127.0.0.1-only port is published.)
type readiness struct{ client *backstage.Client }

func (r readiness) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	for {
		err := r.client.Ready(ctx)
		if err == nil {
			return nil
		}
		if st, serr := target.State(ctx); serr == nil && !st.Running {
			return fmt.Errorf("backstage exited (status %d) before it was ready", st.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for backstage readiness: %w (last answer: %v)", ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// liveImages returns the Backstage image, building it when it is missing. Missing base images (no
// registry here) are a reason to skip, not a failure.
func liveImages(ctx context.Context, t *testing.T, eng *docker.Engine) (string, string, error) {
	ref, err := provision.BackstageImageRef(image.Backstage())
	if err != nil {
		return "", "", err
	}
	for _, base := range []string{provision.PostgresImage, ref} {
		ok, err := eng.ImageExists(ctx, base)
		if err != nil {
			return "", "", err
		}
		if ok {
			continue
		}
		if base == provision.PostgresImage {
			return "", fmt.Sprintf("image %s is missing: run `make setup` (or docker pull it)", base), nil
		}
		if ok, err := eng.ImageExists(ctx, provision.NodeBaseImage); err != nil || !ok {
			return "", fmt.Sprintf("image %s is missing and cannot be built without %s: run `make setup`", ref, provision.NodeBaseImage), err
		}
	}
	ok, err := eng.ImageExists(ctx, ref)
	if err != nil || ok {
		return ref, "", err
	}
	var ca []byte
	for _, v := range []string{"LAB_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
		if f := os.Getenv(v); f != "" {
			if ca, err = os.ReadFile(f); err != nil {
				return "", "", fmt.Errorf("read CA bundle $%s: %w", v, err)
			}
			break
		}
	}
	t.Logf("building %s (a few minutes the first time)", ref)
	got, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: image.Backstage(), CABundle: ca})
	if err != nil {
		return "", "", fmt.Errorf("build the Backstage image: %w", err)
	}
	return got, "", nil
}

// waitForCatalog waits until the catalog has processed the workspace: every entity served (with the
// relations stitched onto the targets), and the rejected entity and the file that does not parse listed
// as unprocessed with their errors. Checks that should fail then run only once.
func waitForCatalog(ctx context.Context, c *backstage.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	refs := []string{"group:default/team-a", "user:default/alice", "system:default/checkout", "component:default/orders",
		"component:default/payments", "resource:default/orders-db", "component:default/docs-site"}
	var missing string
	for {
		missing = catalogMissing(ctx, c, refs)
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the catalog did not process the workspace within 2m: %s", missing)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// catalogMissing says what the catalog does not show yet ("" when it shows everything waitForCatalog needs).
func catalogMissing(ctx context.Context, c *backstage.Client, refs []string) string {
	found, err := c.EntitiesByRefs(ctx, refs)
	if err != nil {
		return err.Error()
	}
	for i, e := range found {
		if e == nil {
			return refs[i] + " not served"
		}
	}
	db := found[5]
	if !slices.ContainsFunc(db.Relations, func(r backstage.Relation) bool {
		return r.Type == "dependencyOf" && r.TargetRef == "component:default/orders"
	}) {
		return "resource:default/orders-db has no dependencyOf relation yet"
	}
	// Files that never processed are listed as unprocessed, with their errors: the entity that fails
	// validation, and the Location of the file that does not parse.
	rejected := map[string]bool{}
	for _, which := range []string{"failed", "pending"} {
		list, err := c.Unprocessed(ctx, which)
		if err != nil {
			return err.Error()
		}
		for _, u := range list {
			if len(u.Errors) > 0 {
				rejected[path.Base(u.LocationKey)] = true
			}
		}
	}
	for _, f := range []string{"broken.yaml", "syntax-error.yaml"} {
		if !rejected[f] {
			return "catalog/" + f + " is not listed as unprocessed with errors"
		}
	}
	return ""
}

// dumpLogs logs the tail of both containers' output.
func dumpLogs(t *testing.T) {
	t.Helper()
	live.mu.Lock()
	ctrs := slices.Clone(live.containers)
	live.mu.Unlock()
	for _, c := range ctrs {
		rc, err := c.Logs(context.WithoutCancel(t.Context()))
		if err != nil {
			t.Logf("logs of %s: %v", c.Image, err)
			continue
		}
		var lines []string
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		_ = rc.Close()
		if len(lines) > 150 {
			lines = lines[len(lines)-150:]
		}
		t.Logf("last %d log lines of %s:\n%s", len(lines), c.Image, strings.Join(lines, "\n"))
	}
}

// teardown removes the containers, the network and the directories, whatever state setup reached.
// It runs after every test (TestMain), so it cannot use testcontainers.CleanupContainer/CleanupNetwork,
// which bind the cleanup to one test; it calls what they call.
func (l *liveState) teardown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.containers {
		if err := testcontainers.TerminateContainer(c); err != nil {
			fmt.Fprintf(os.Stderr, "live tests: remove container %s: %v\n", c.GetContainerID(), err)
		}
	}
	if l.network != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.network.Remove(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "live tests: remove network %s: %v\n", l.network.Name, err)
		}
	}
	for _, d := range l.dirs {
		_ = os.RemoveAll(d)
	}
}

func keep(c *testcontainers.DockerContainer) {
	if c == nil {
		return
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	live.containers = append(live.containers, c)
}

// liveDir makes a directory the container (user node) can read; teardown removes it.
func liveDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	live.mu.Lock()
	live.dirs = append(live.dirs, dir)
	live.mu.Unlock()
	return dir, os.Chmod(dir, 0o755)
}

// loopback publishes a container port on 127.0.0.1 only (hostPort 0: Docker picks one).
func loopback(port string, hostPort int) mobynet.PortMap {
	p := mobynet.MustParsePort(port)
	hp := ""
	if hostPort > 0 {
		hp = fmt.Sprint(hostPort)
	}
	return mobynet.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hp}}}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
