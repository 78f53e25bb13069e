package provision

import "errors"

var (
	// ErrDockerUnavailable means the Docker daemon could not be reached.
	ErrDockerUnavailable = errors.New("docker is not reachable")
	// ErrNotFound means no session exists for the lab.
	ErrNotFound = errors.New("no session found")
	// ErrAlreadyRunning means the lab already has a running session.
	ErrAlreadyRunning = errors.New("lab is already running")
	// ErrNotReady means a session exists but Backstage did not become ready in time.
	ErrNotReady = errors.New("backstage is not ready")
)
