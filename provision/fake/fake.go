// Package fake is an in-memory provision.Engine for unit tests: it records calls and keeps containers,
// networks and volumes with their labels.
package fake

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"

	"github.com/backstage-lab/lab/provision"
)

// Engine is a fake Docker.
type Engine struct {
	mu         sync.Mutex
	next       int
	Images     map[string]bool
	Resources  []provision.Resource
	Containers map[string]*provision.Container
	Calls      []string

	// Hooks let a test make a call fail or change what a container does.
	RunErr   func(spec provision.ContainerSpec) error
	ExecCode int
	// ExitOnStart makes containers of this role stop right after they start (a crash).
	ExitOnStart string
	LogText     string
}

var _ provision.Engine = (*Engine)(nil)

// New returns an empty fake with the given images present.
func New(images ...string) *Engine {
	e := &Engine{Images: map[string]bool{}, Containers: map[string]*provision.Container{}}
	for _, im := range images {
		e.Images[im] = true
	}
	return e
}

func (e *Engine) record(format string, args ...any) {
	e.Calls = append(e.Calls, fmt.Sprintf(format, args...))
}

func (e *Engine) id(prefix string) string {
	e.next++
	return fmt.Sprintf("%s%d", prefix, e.next)
}

// Ping always answers.
func (e *Engine) Ping(context.Context) error { return nil }

// ImageExists reports whether ref was given to New or built/pulled.
func (e *Engine) ImageExists(_ context.Context, ref string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Images[ref], nil
}

// BuildImage drains the context and records the tag.
func (e *Engine) BuildImage(_ context.Context, r io.Reader, tag string, _ map[string]string, _ bool, progress func(string)) error {
	_, _ = io.Copy(io.Discard, r)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("build %s", tag)
	if progress != nil {
		progress("Step 1/1 : FROM node:22-bookworm-slim")
	}
	e.Images[tag] = true
	return nil
}

// PullImage fails: there is no registry in tests.
func (e *Engine) PullImage(_ context.Context, ref string, _ func(string)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("pull %s", ref)
	return fmt.Errorf("pull access denied for %s", ref)
}

// SaveImages writes the refs, one a line.
func (e *Engine) SaveImages(_ context.Context, refs []string, w io.Writer) error {
	_, err := io.WriteString(w, strings.Join(refs, "\n"))
	return err
}

// LoadImages reads refs written by SaveImages.
func (e *Engine) LoadImages(_ context.Context, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ref := range strings.Split(string(data), "\n") {
		e.Images[ref] = true
	}
	return nil
}

// ListImages lists nothing.
func (e *Engine) ListImages(context.Context, map[string]string) ([]provision.Image, error) {
	return nil, nil
}

func (e *Engine) ensure(kind provision.ResourceKind, name string, labels map[string]string) {
	for _, r := range e.Resources {
		if r.Kind == kind && r.Name == name {
			return
		}
	}
	e.Resources = append(e.Resources, provision.Resource{Kind: kind, ID: e.id(string(kind)), Name: name, Labels: maps.Clone(labels)})
}

// EnsureNetwork records a network.
func (e *Engine) EnsureNetwork(_ context.Context, name string, labels map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("network %s", name)
	e.ensure(provision.KindNetwork, name, labels)
	return nil
}

// EnsureVolume records a volume.
func (e *Engine) EnsureVolume(_ context.Context, name string, labels map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("volume %s", name)
	e.ensure(provision.KindVolume, name, labels)
	return nil
}

// Run records a running container.
func (e *Engine) Run(_ context.Context, spec provision.ContainerSpec) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("run %s", spec.Name)
	if e.RunErr != nil {
		if err := e.RunErr(spec); err != nil {
			return "", err
		}
	}
	id := e.id("container")
	c := &provision.Container{ID: id, Name: spec.Name, Image: spec.Image, Labels: maps.Clone(spec.Labels),
		Running: true, Status: "running", Ports: maps.Clone(spec.Ports), Env: append([]string(nil), spec.Env...)}
	if spec.Labels[provision.LabelRole] == e.ExitOnStart {
		c.Running, c.Status, c.ExitCode = false, "exited", 1
	}
	e.Containers[id] = c
	e.Resources = append(e.Resources, provision.Resource{Kind: provision.KindContainer, ID: id, Name: spec.Name, Labels: maps.Clone(spec.Labels)})
	return id, nil
}

// Start marks a container running.
func (e *Engine) Start(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("start %s", id)
	c, ok := e.Containers[id]
	if !ok {
		return fmt.Errorf("no container %s", id)
	}
	c.Running, c.Status = true, "running"
	return nil
}

// Stop marks a container stopped.
func (e *Engine) Stop(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("stop %s", id)
	c, ok := e.Containers[id]
	if !ok {
		return fmt.Errorf("no container %s", id)
	}
	c.Running, c.Status = false, "exited"
	return nil
}

// Inspect returns a copy of the container.
func (e *Engine) Inspect(_ context.Context, id string) (provision.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.Containers[id]
	if !ok {
		return provision.Container{}, fmt.Errorf("no container %s", id)
	}
	return *c, nil
}

// Exec returns ExecCode.
func (e *Engine) Exec(context.Context, string, []string) (int, string, error) {
	return e.ExecCode, "", nil
}

// Logs writes LogText.
func (e *Engine) Logs(_ context.Context, _ string, _ bool, _ string, w io.Writer) error {
	_, err := io.WriteString(w, e.LogText)
	return err
}

// MemoryUsage returns 100 MiB.
func (e *Engine) MemoryUsage(context.Context, string) (uint64, error) { return 100 << 20, nil }

// List returns resources carrying all labels.
func (e *Engine) List(_ context.Context, labels map[string]string) ([]provision.Resource, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []provision.Resource
	for _, r := range e.Resources {
		match := true
		for k, v := range labels {
			if r.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, r)
		}
	}
	return out, nil
}

// Remove deletes a resource.
func (e *Engine) Remove(_ context.Context, r provision.Resource) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("remove %s %s", r.Kind, r.Name)
	for i, x := range e.Resources {
		if x.ID == r.ID {
			e.Resources = append(e.Resources[:i], e.Resources[i+1:]...)
			delete(e.Containers, r.ID)
			return nil
		}
	}
	return nil
}
