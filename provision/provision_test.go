package provision_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/fake"
)

const testLabYAML = `apiVersion: backstage-lab.dev/v1
slug: hello
title: Hello
domain: D3
topic: catalog
minutes: 5
summary: A test lab.
fixtures:
  catalog: [org.yaml]
  locations: [catalog-info.yaml]
  config: app-config.yaml
tasks:
  - id: one
    title: One
    instructions: Do it.
    checks:
      - type: entity
        entity: component:default/hello
`

func testLab(t *testing.T) *labs.Lab {
	t.Helper()
	fsys := fstest.MapFS{
		"lab.yaml":                    {Data: []byte(testLabYAML)},
		"fixtures/org.yaml":           {Data: []byte("kind: Group\n")},
		"fixtures/app-config.yaml":    {Data: []byte("catalog:\n  rules: []\n")},
		"workspace/catalog-info.yaml": {Data: []byte("kind: Component\n")},
		"workspace/README.md":         {Data: []byte("# hello\n")},
	}
	lab, err := labs.Parse(fsys["lab.yaml"].Data, "lab.yaml", fsys)
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

func startOptions(t *testing.T) provision.StartOptions {
	t.Helper()
	dir := t.TempDir()
	return provision.StartOptions{
		Lab: testLab(t), Workspace: filepath.Join(dir, "ws"), State: provision.StateDir(filepath.Join(dir, "state")),
		BackstageImage: "backstage-lab/backstage:test", PostgresImage: provision.PostgresImage, Wait: 2 * time.Second,
	}
}

func managed(t *testing.T, eng *fake.Engine) []provision.Resource {
	t.Helper()
	rs, err := eng.List(t.Context(), map[string]string{provision.LabelManaged: "true"})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestStartRollsBackWhenBackstageExits(t *testing.T) {
	eng := fake.New()
	eng.ExitOnStart = provision.RoleBackstage
	eng.LogText = "Error: Failed to read config: invalid key\n"
	o := startOptions(t)
	_, err := provision.Start(t.Context(), eng, o)
	if err == nil || !strings.Contains(err.Error(), "exited with code 1") || !strings.Contains(err.Error(), "invalid key") {
		t.Fatalf("want the container's exit and last log lines, got %v", err)
	}
	if rs := managed(t, eng); len(rs) != 0 {
		t.Fatalf("rollback left %d resources: %+v", len(rs), rs)
	}
	if _, err := os.Stat(filepath.Join(o.Workspace, "catalog-info.yaml")); err != nil {
		t.Fatalf("workspace must be laid out and kept: %v", err)
	}
}

func TestStartRollsBackOnCancel(t *testing.T) {
	eng := fake.New()
	o := startOptions(t)
	o.Wait = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel) // nothing answers on the port: Start is still waiting
	_, err := provision.Start(ctx, eng, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if rs := managed(t, eng); len(rs) != 0 {
		t.Fatalf("rollback after Ctrl-C left %d resources", len(rs))
	}
}

func TestStartTimesOutWithNextStep(t *testing.T) {
	eng := fake.New()
	o := startOptions(t)
	o.Wait = 300 * time.Millisecond
	o.Retain = true
	_, err := provision.Start(t.Context(), eng, o)
	if !errors.Is(err, provision.ErrNotReady) || !strings.Contains(err.Error(), "lab logs backstage") {
		t.Fatalf("want ErrNotReady with a next step, got %v", err)
	}
	if rs := managed(t, eng); len(rs) != 4 {
		t.Fatalf("--retain must keep network, volume and 2 containers, got %d", len(rs))
	}
}

func TestStartChoosesAnotherPortWhenTaken(t *testing.T) {
	eng := fake.New()
	taken := true
	eng.RunErr = func(spec provision.ContainerSpec) error {
		if spec.Labels[provision.LabelRole] == provision.RoleBackstage && taken {
			taken = false
			return fmt.Errorf("driver failed programming external connectivity: Bind for 127.0.0.1:%d failed: port is already allocated", spec.Ports["7007/tcp"])
		}
		return nil
	}
	o := startOptions(t)
	o.Wait = 200 * time.Millisecond
	o.Retain = true
	_, _ = provision.Start(t.Context(), eng, o)
	runs := 0
	for _, c := range eng.Calls {
		if c == "run lab-hello-backstage" {
			runs++
		}
	}
	if runs != 2 {
		t.Fatalf("want a second attempt on another port, calls: %v", eng.Calls)
	}
}

func TestFindReadsSessionFromDocker(t *testing.T) {
	eng := fake.New()
	o := startOptions(t)
	o.Wait = 100 * time.Millisecond
	o.Retain = true
	_, _ = provision.Start(t.Context(), eng, o)
	s, err := provision.Find(t.Context(), eng, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Token) < 32 || s.BackstagePort == 0 || s.PostgresPort == 0 || s.Workspace != o.Workspace || !s.Running() {
		t.Fatalf("session not read back from labels and inspect: %+v", s)
	}
	for _, r := range managed(t, eng) {
		if r.Labels[provision.LabelSession] != s.ID || r.Labels[provision.LabelLab] != "hello" {
			t.Fatalf("resource %s lacks session labels: %v", r.Name, r.Labels)
		}
	}
	if _, err := provision.Find(t.Context(), eng, "other"); !errors.Is(err, provision.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestDestroyRemovesOnlyItsLab(t *testing.T) {
	eng := fake.New()
	ctx := t.Context()
	_ = eng.EnsureNetwork(ctx, "someone-elses", nil)
	_ = eng.EnsureVolume(ctx, "lab-other-pgdata", map[string]string{provision.LabelManaged: "true", provision.LabelLab: "other"})
	o := startOptions(t)
	o.Wait = 100 * time.Millisecond
	o.Retain = true
	_, _ = provision.Start(ctx, eng, o)
	n, err := provision.Destroy(ctx, eng, "hello", provision.Discard)
	if err != nil || n != 4 {
		t.Fatalf("want 4 removed, got %d, %v", n, err)
	}
	all, _ := eng.List(ctx, nil)
	if len(all) != 2 {
		t.Fatalf("destroy touched resources of others: %+v", all)
	}
}

func TestWriteConfigLayersLocationsThenLabThenWorkspace(t *testing.T) {
	lab := testLab(t)
	lab.Fixtures.WorkspaceConfig = "app-config.local.yaml"
	ws, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "app-config.local.yaml"), []byte("app:\n  title: Mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := provision.WriteConfig(lab, ws, dir); err != nil {
		t.Fatal(err)
	}
	locs, _ := os.ReadFile(filepath.Join(dir, "10-locations.yaml"))
	for _, want := range []string{"target: /fixtures/org.yaml", "target: /workspace/catalog-info.yaml", "type: file"} {
		if !strings.Contains(string(locs), want) {
			t.Errorf("10-locations.yaml lacks %q:\n%s", want, locs)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "10-locations.yaml 20-lab.yaml 30-workspace.yaml" {
		t.Fatalf("config files: %s", got)
	}
}

func TestEnsureImagesBuildsOnceAndExplainsOfflineFallback(t *testing.T) {
	ctx := t.Context()
	buildContext := fstest.MapFS{"Dockerfile": {Data: []byte("FROM node:22-bookworm-slim\n")}}
	eng := fake.New(provision.PostgresImage, provision.NodeBaseImage)
	ref, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: buildContext})
	if err != nil || !strings.HasPrefix(ref, "backstage-lab/backstage:") {
		t.Fatalf("ref %q, err %v", ref, err)
	}
	if _, err := provision.EnsureImages(ctx, eng, provision.ImageOptions{Context: buildContext}); err != nil {
		t.Fatal(err)
	}
	builds := 0
	for _, c := range eng.Calls {
		if strings.HasPrefix(c, "build ") {
			builds++
		}
	}
	if builds != 1 {
		t.Fatalf("want one build, calls %v", eng.Calls)
	}
	_, err = provision.EnsureImages(ctx, fake.New(), provision.ImageOptions{Context: buildContext})
	if err == nil || !strings.Contains(err.Error(), "lab images offline") {
		t.Fatalf("missing base image must point at the offline path, got %v", err)
	}
}

func TestStartKeepsTheLearnersFilesAndRestoresMissingOnes(t *testing.T) {
	eng := fake.New()
	o := startOptions(t)
	o.Wait = 100 * time.Millisecond
	if err := os.MkdirAll(o.Workspace, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(o.Workspace, "catalog-info.yaml")
	if err := os.WriteFile(mine, []byte("kind: Component # my work\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _ = provision.Start(t.Context(), eng, o)
	if data, _ := os.ReadFile(mine); !strings.Contains(string(data), "my work") {
		t.Fatalf("the learner's file was overwritten: %q", data)
	}
	if _, err := os.Stat(filepath.Join(o.Workspace, "README.md")); err != nil {
		t.Fatalf("a missing starting file was not restored: %v", err)
	}
}
