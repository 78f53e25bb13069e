package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Session is one running environment of one lab: a network, a PostgreSQL and a Backstage container.
// It is read back from Docker (labels and inspect results), never from a file.
type Session struct {
	ID        string `json:"id"`
	Lab       string `json:"lab"`
	Workspace string `json:"workspace"`
	// Token is the checker's static external-access token (random per session).
	Token         string `json:"-"`
	BackstagePort int    `json:"backstage_port"`
	PostgresPort  int    `json:"postgres_port"`

	Backstage *Container `json:"-"`
	Postgres  *Container `json:"-"`
}

// URL is where the session's Backstage answers on the host.
func (s *Session) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.BackstagePort) }

// Names of a lab's resources: deterministic to help people reading `docker ps`; lab finds them by label.
func networkName(lab string) string         { return "lab-" + lab }
func volumeName(lab string) string          { return "lab-" + lab + "-pgdata" }
func containerName(lab, role string) string { return "lab-" + lab + "-" + role }

const (
	backstagePort = "7007/tcp"
	postgresPort  = "5432/tcp"
	postgresUser  = "backstage"
	tokenEnv      = "LAB_TOKEN"
	pgPasswordEnv = "POSTGRES_PASSWORD"
)

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Find returns the session of a lab, read from its labelled containers, or ErrNotFound.
func Find(ctx context.Context, eng Engine, lab string) (*Session, error) {
	all, err := FindAll(ctx, eng)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if s.Lab == lab {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w for lab %q", ErrNotFound, lab)
}

// FindAll returns every session lab made on this Docker host, ordered by lab.
func FindAll(ctx context.Context, eng Engine) ([]*Session, error) {
	rs, err := eng.List(ctx, map[string]string{LabelManaged: "true"})
	if err != nil {
		return nil, err
	}
	byLab := map[string]*Session{}
	var order []string
	for _, r := range rs {
		if r.Kind != KindContainer {
			continue
		}
		lab := r.Labels[LabelLab]
		s, ok := byLab[lab]
		if !ok {
			s = &Session{ID: r.Labels[LabelSession], Lab: lab}
			byLab[lab] = s
			order = append(order, lab)
		}
		c, err := eng.Inspect(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		switch r.Labels[LabelRole] {
		case RoleBackstage:
			s.Backstage = &c
			s.Workspace = c.Labels[LabelWorkspace]
			s.BackstagePort = c.Ports[backstagePort]
			s.Token = envValue(c.Env, tokenEnv)
		case RolePostgres:
			s.Postgres = &c
			s.PostgresPort = c.Ports[postgresPort]
		}
	}
	out := make([]*Session, 0, len(order))
	for _, lab := range order {
		out = append(out, byLab[lab])
	}
	return out, nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// Running reports whether both containers of the session run.
func (s *Session) Running() bool {
	return s.Backstage != nil && s.Backstage.Running && s.Postgres != nil && s.Postgres.Running
}

// Stop stops a session's containers and keeps everything (data, workspace) for a later `lab start`.
func Stop(ctx context.Context, eng Engine, s *Session, r Reporter) error {
	for _, c := range []*Container{s.Backstage, s.Postgres} {
		if c == nil || !c.Running {
			continue
		}
		done := step(r, "stop-"+c.Labels[LabelRole], "Stopping "+c.Name)
		err := eng.Stop(ctx, c.ID)
		done(err)
		if err != nil {
			return err
		}
	}
	return nil
}

// Destroy removes every container, network and volume labelled with the lab. It never touches the workspace.
func Destroy(ctx context.Context, eng Engine, lab string, r Reporter) (int, error) {
	return removeLabelled(ctx, eng, map[string]string{LabelManaged: "true", LabelLab: lab}, r)
}

// removeLabelled removes containers first, then networks and volumes, carrying all labels.
func removeLabelled(ctx context.Context, eng Engine, labels map[string]string, r Reporter) (int, error) {
	rs, err := eng.List(ctx, labels)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, kind := range []ResourceKind{KindContainer, KindNetwork, KindVolume} {
		for _, res := range rs {
			if res.Kind != kind {
				continue
			}
			done := step(r, "remove-"+string(kind), fmt.Sprintf("Removing %s %s", kind, res.Name))
			err := eng.Remove(ctx, res)
			done(err)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// rollback removes what a failed or interrupted start made. It runs on a context Ctrl-C cannot cancel.
func rollback(ctx context.Context, eng Engine, sessionID string, r Reporter) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	done := step(r, "rollback", "Removing the half-started session")
	_, err := removeLabelled(ctx, eng, map[string]string{LabelManaged: "true", LabelSession: sessionID}, r)
	done(err)
}
