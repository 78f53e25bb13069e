package cli

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/docker"
)

// Factory hands commands their dependencies lazily, so `lab --help` or `lab list` never dial Docker.
type Factory struct {
	IO     *IOStreams
	Getenv func(string) string

	// Set from persistent flags before a command runs.
	LabsDir  string
	Progress string

	engineOnce sync.Once
	engine     provision.Engine
	engineErr  error
}

// NewFactory returns a factory on the real system.
func NewFactory(streams *IOStreams, getenv func(string) string) *Factory {
	return &Factory{IO: streams, Getenv: getenv}
}

// Engine connects to Docker and checks that it answers.
func (f *Factory) Engine(ctx context.Context) (provision.Engine, error) {
	f.engineOnce.Do(func() {
		eng, err := docker.New()
		if err != nil {
			f.engineErr = fmt.Errorf("%w: %w", provision.ErrDockerUnavailable, err)
			return
		}
		if err := eng.Ping(ctx); err != nil {
			f.engineErr = err
			return
		}
		f.engine = eng
	})
	return f.engine, f.engineErr
}

// Catalog returns the labs: from --labs-dir (or $LAB_LABS_DIR) when set, else the ones built in.
func (f *Factory) Catalog() (*labs.Catalog, error) {
	dir := f.LabsDir
	if dir == "" {
		dir = f.Getenv("LAB_LABS_DIR")
	}
	if dir != "" {
		return labs.FromDir(dir)
	}
	return labs.Builtin()
}

// State returns lab's state directory.
func (f *Factory) State() (provision.StateDir, error) {
	return provision.DefaultStateDir(f.Getenv)
}

// Reporter returns the progress renderer chosen by --progress.
func (f *Factory) Reporter() (provision.Reporter, error) {
	return NewReporter(f.IO, f.Progress)
}

// Cwd returns the working directory.
func (f *Factory) Cwd() (string, error) { return os.Getwd() }
