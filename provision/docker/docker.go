// Package docker implements provision.Engine with the Docker Engine Go SDK (github.com/moby/moby/client).
// It honours DOCKER_HOST and the other DOCKER_* variables, and negotiates the API version with the daemon.
package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/backstage-lab/lab/provision"
)

// Engine talks to a Docker daemon.
type Engine struct {
	cli *client.Client
}

var _ provision.Engine = (*Engine)(nil)

// New connects to the daemon named by the environment (DOCKER_HOST, default the local socket).
// It does not dial: the first call does, and Ping tells whether the daemon is there.
func New() (*Engine, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Engine{cli: cli}, nil
}

// Close releases the client's connections.
func (e *Engine) Close() error { return e.cli.Close() }

// Ping checks that the daemon answers.
func (e *Engine) Ping(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("%w: %w", provision.ErrDockerUnavailable, err)
	}
	return nil
}

// ImageExists reports whether ref is present locally.
func (e *Engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return true, nil
}

// BuildImage builds with the classic builder (no BuildKit session needed) and streams its output lines.
func (e *Engine) BuildImage(ctx context.Context, buildContext io.Reader, tag string, labels map[string]string, noCache bool, progress func(string)) error {
	res, err := e.cli.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
		NoCache:     noCache,
		Dockerfile:  "Dockerfile",
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	return readJSONStream(res.Body, progress)
}

// PullImage pulls ref from its registry.
func (e *Engine) PullImage(ctx context.Context, ref string, progress func(string)) error {
	res, err := e.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	defer res.Close()
	return readJSONStream(res, progress)
}

// ansi matches terminal colour sequences some build steps print.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// readJSONStream reads the daemon's JSON message stream, reporting lines and returning the first error.
func readJSONStream(r io.Reader, progress func(string)) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Stream      string `json:"stream"`
			Status      string `json:"status"`
			ID          string `json:"id"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read docker output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		line := m.Stream
		if line == "" && m.Status != "" {
			line = strings.TrimSpace(m.ID + " " + m.Status)
		}
		for _, l := range strings.Split(strings.TrimRight(ansi.ReplaceAllString(line, ""), "\n"), "\n") {
			if strings.TrimSpace(l) != "" && progress != nil {
				progress(l)
			}
		}
	}
}

// SaveImages writes a tarball of refs (docker save format).
func (e *Engine) SaveImages(ctx context.Context, refs []string, w io.Writer) error {
	rc, err := e.cli.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	return nil
}

// LoadImages loads a docker save tarball.
func (e *Engine) LoadImages(ctx context.Context, r io.Reader) error {
	rc, err := e.cli.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer rc.Close()
	return readJSONStream(rc, nil)
}

// ListImages lists local images carrying all labels.
func (e *Engine) ListImages(ctx context.Context, labels map[string]string) ([]provision.Image, error) {
	res, err := e.cli.ImageList(ctx, client.ImageListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]provision.Image, 0, len(res.Items))
	for _, im := range res.Items {
		out = append(out, provision.Image{ID: im.ID, Tags: im.RepoTags, Size: im.Size, Labels: im.Labels})
	}
	return out, nil
}

// EnsureNetwork creates a bridge network unless one with that name exists.
func (e *Engine) EnsureNetwork(ctx context.Context, name string, labels map[string]string) error {
	res, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	for _, n := range res.Items {
		if n.Name == name {
			return nil
		}
	}
	if _, err := e.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: labels}); err != nil {
		return fmt.Errorf("create network %s: %w", name, err)
	}
	return nil
}

// EnsureVolume creates a named volume (a no-op if it exists).
func (e *Engine) EnsureVolume(ctx context.Context, name string, labels map[string]string) error {
	if _, err := e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
		return fmt.Errorf("create volume %s: %w", name, err)
	}
	return nil
}

// Run creates and starts a container. Published ports are bound to 127.0.0.1 only.
func (e *Engine) Run(ctx context.Context, spec provision.ContainerSpec) (string, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for cport, hport := range spec.Ports {
		p, err := network.ParsePort(cport)
		if err != nil {
			return "", fmt.Errorf("container port %q: %w", cport, err)
		}
		exposed[p] = struct{}{}
		bindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hport)}}
	}
	var mounts []mount.Mount
	for _, m := range spec.Mounts {
		if m.Volume != "" {
			mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Volume, Target: m.Target, ReadOnly: m.ReadOnly})
		} else {
			mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
		}
	}
	var netcfg *network.NetworkingConfig
	if spec.Network != "" {
		netcfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			spec.Network: {Aliases: spec.Aliases},
		}}
	}
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name,
		Config: &container.Config{
			Image:        spec.Image,
			User:         spec.User,
			Env:          spec.Env,
			Cmd:          spec.Cmd,
			Labels:       spec.Labels,
			ExposedPorts: exposed,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:  container.NetworkMode(spec.Network),
			PortBindings: bindings,
			Mounts:       mounts,
			Init:         ptr(true),
		},
		NetworkingConfig: netcfg,
	})
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	if err := e.Start(ctx, created.ID); err != nil {
		return created.ID, err
	}
	return created.ID, nil
}

func ptr[T any](v T) *T { return &v }

// Start starts a created or stopped container.
func (e *Engine) Start(ctx context.Context, id string) error {
	if _, err := e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// Stop stops a container, giving it 10 seconds to exit.
func (e *Engine) Stop(ctx context.Context, id string) error {
	timeout := 10
	if _, err := e.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// Inspect reads a container's state, labels and published ports.
func (e *Engine) Inspect(ctx context.Context, id string) (provision.Container, error) {
	res, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return provision.Container{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	c := res.Container
	out := provision.Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Ports: map[string]int{}}
	if c.Config != nil {
		out.Image = c.Config.Image
		out.Labels = c.Config.Labels
		out.Env = c.Config.Env
	}
	if c.State != nil {
		out.Running = c.State.Running
		out.Status = string(c.State.Status)
		out.ExitCode = c.State.ExitCode
		out.OOMKilled = c.State.OOMKilled
	}
	if c.HostConfig != nil {
		for p, bs := range c.HostConfig.PortBindings {
			for _, b := range bs {
				if n, err := strconv.Atoi(b.HostPort); err == nil {
					out.Ports[p.String()] = n
				}
			}
		}
	}
	return out, nil
}

// Exec runs cmd in the container and returns its exit code and combined output.
func (e *Engine) Exec(ctx context.Context, id string, cmd []string) (int, string, error) {
	created, err := e.cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, "", fmt.Errorf("exec in %s: %w", id, err)
	}
	att, err := e.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, "", fmt.Errorf("exec in %s: %w", id, err)
	}
	defer att.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, att.Reader); err != nil {
		return -1, buf.String(), fmt.Errorf("exec in %s: %w", id, err)
	}
	ins, err := e.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return -1, buf.String(), fmt.Errorf("exec in %s: %w", id, err)
	}
	return ins.ExitCode, buf.String(), nil
}

// Logs copies the container's logs (stdout and stderr) to w.
func (e *Engine) Logs(ctx context.Context, id string, follow bool, tail string, w io.Writer) error {
	if tail == "" {
		tail = "all"
	}
	rc, err := e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail})
	if err != nil {
		return fmt.Errorf("logs of %s: %w", id, err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of %s: %w", id, err)
	}
	return nil
}

// MemoryUsage returns the container's memory use as `docker stats` shows it (usage minus page cache).
func (e *Engine) MemoryUsage(ctx context.Context, id string) (uint64, error) {
	res, err := e.cli.ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: false})
	if err != nil {
		return 0, fmt.Errorf("stats of %s: %w", id, err)
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(bufio.NewReader(res.Body)).Decode(&s); err != nil {
		return 0, fmt.Errorf("stats of %s: %w", id, err)
	}
	used := s.MemoryStats.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} { // cgroup v1, v2
		if v, ok := s.MemoryStats.Stats[k]; ok && v < used {
			return used - v, nil
		}
	}
	return used, nil
}

// List returns containers (running or not), networks and volumes carrying all labels.
func (e *Engine) List(ctx context.Context, labels map[string]string) ([]provision.Resource, error) {
	f := labelFilters(labels)
	var out []provision.Resource
	cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, provision.Resource{Kind: provision.KindContainer, ID: c.ID, Name: name, Labels: c.Labels})
	}
	ns, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		out = append(out, provision.Resource{Kind: provision.KindNetwork, ID: n.ID, Name: n.Name, Labels: n.Labels})
	}
	vs, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Items {
		out = append(out, provision.Resource{Kind: provision.KindVolume, ID: v.Name, Name: v.Name, Labels: v.Labels})
	}
	return out, nil
}

// Remove deletes a resource; removing something already gone is not an error.
func (e *Engine) Remove(ctx context.Context, r provision.Resource) error {
	var err error
	switch r.Kind {
	case provision.KindContainer:
		_, err = e.cli.ContainerRemove(ctx, r.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	case provision.KindNetwork:
		_, err = e.cli.NetworkRemove(ctx, r.ID, client.NetworkRemoveOptions{})
	case provision.KindVolume:
		_, err = e.cli.VolumeRemove(ctx, r.ID, client.VolumeRemoveOptions{Force: true})
	default:
		return fmt.Errorf("remove %s: unknown kind %q", r.Name, r.Kind)
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s %s: %w", r.Kind, r.Name, err)
	}
	return nil
}

func labelFilters(labels map[string]string) client.Filters {
	f := make(client.Filters)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}
