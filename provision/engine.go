package provision

import (
	"context"
	"io"
)

// Engine is the small part of the Docker API that lab uses. provision/docker implements it with
// the Docker Engine Go SDK; tests use a fake.
type Engine interface {
	Ping(ctx context.Context) error
	ImageExists(ctx context.Context, ref string) (bool, error)
	// BuildImage builds a Dockerfile context (a tar stream) and calls progress with each output line.
	// With noCache every step runs again (for measuring a cold build).
	BuildImage(ctx context.Context, buildContext io.Reader, tag string, labels map[string]string, noCache bool, progress func(line string)) error
	PullImage(ctx context.Context, ref string, progress func(line string)) error
	SaveImages(ctx context.Context, refs []string, w io.Writer) error
	LoadImages(ctx context.Context, r io.Reader) error
	ListImages(ctx context.Context, labels map[string]string) ([]Image, error)

	EnsureNetwork(ctx context.Context, name string, labels map[string]string) error
	EnsureVolume(ctx context.Context, name string, labels map[string]string) error
	// Run creates and starts a container.
	Run(ctx context.Context, spec ContainerSpec) (id string, err error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Inspect(ctx context.Context, id string) (Container, error)
	// Exec runs a command in a running container and returns its exit code and combined output.
	Exec(ctx context.Context, id string, cmd []string) (int, string, error)
	Logs(ctx context.Context, id string, follow bool, tail string, w io.Writer) error
	MemoryUsage(ctx context.Context, id string) (uint64, error)

	// List returns every container, network and volume carrying all the given labels.
	List(ctx context.Context, labels map[string]string) ([]Resource, error)
	Remove(ctx context.Context, r Resource) error
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	Name    string
	Image   string
	User    string
	Env     []string
	Cmd     []string
	Labels  map[string]string
	Network string
	Aliases []string
	// Ports maps a container port ("7007/tcp") to a host port, always bound to 127.0.0.1.
	Ports  map[string]int
	Mounts []Mount
}

// Mount is a bind mount (Source is a host path) or a named volume (Volume set).
type Mount struct {
	Source   string
	Volume   string
	Target   string
	ReadOnly bool
}

// Container is what lab reads back from a container.
type Container struct {
	ID        string
	Name      string
	Image     string
	Labels    map[string]string
	Running   bool
	Status    string // e.g. "running", "exited"
	ExitCode  int
	OOMKilled bool
	Ports     map[string]int // container port → host port
	Env       []string
}

// ResourceKind is the kind of a Docker resource.
type ResourceKind string

// Kinds of resources lab creates.
const (
	KindContainer ResourceKind = "container"
	KindNetwork   ResourceKind = "network"
	KindVolume    ResourceKind = "volume"
)

// Resource is a labelled Docker object.
type Resource struct {
	Kind   ResourceKind
	ID     string
	Name   string
	Labels map[string]string
}

// Image is a local image.
type Image struct {
	ID     string
	Tags   []string
	Size   int64
	Labels map[string]string
}
