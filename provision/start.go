package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backstage-lab/lab/labs"
)

// StartOptions says what to start.
type StartOptions struct {
	Lab *labs.Lab
	// Workspace is the absolute host path of the learner's workspace. It is created from the lab's
	// workspace/ when missing, and used as it is when it exists (the learner's work is never overwritten).
	Workspace      string
	State          StateDir
	BackstageImage string
	PostgresImage  string
	// Wait bounds how long to wait for Backstage to be ready.
	Wait     time.Duration
	Reporter Reporter
	// Retain keeps a half-started session for debugging instead of rolling it back.
	Retain bool
}

// Start brings up a lab's session and waits until Backstage is ready and has read the workspace.
// A running session of the same lab is returned with ErrAlreadyRunning; a stopped one is started again.
// If the start fails or ctx is cancelled (Ctrl-C), everything it created is removed.
func Start(ctx context.Context, eng Engine, o StartOptions) (*Session, error) {
	if o.Reporter == nil {
		o.Reporter = Discard
	}
	if o.Wait == 0 {
		o.Wait = 3 * time.Minute
	}
	existing, err := Find(ctx, eng, o.Lab.Slug)
	switch {
	case err == nil:
		return resume(ctx, eng, existing, o)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}

	s := &Session{ID: randomHex(4), Lab: o.Lab.Slug, Workspace: o.Workspace, Token: "lab-" + randomHex(24)}
	if err := prepareFiles(o); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && !o.Retain {
			rollback(ctx, eng, s.ID, o.Reporter)
		}
	}()
	if err := create(ctx, eng, s, o); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, eng, s, o); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// resume starts the stopped containers of an existing session, or reports that it already runs.
func resume(ctx context.Context, eng Engine, s *Session, o StartOptions) (*Session, error) {
	if s.Running() {
		if err := ProbeReady(ctx, s); err == nil {
			return s, ErrAlreadyRunning
		}
	}
	if err := s.complete(); err != nil {
		return nil, err
	}
	o.Workspace = s.Workspace
	if err := prepareFiles(o); err != nil {
		return nil, err
	}
	for _, c := range []*Container{s.Postgres, s.Backstage} {
		if c.Running {
			continue
		}
		done := step(o.Reporter, "start-"+c.Labels[LabelRole], "Starting "+c.Name)
		err := eng.Start(ctx, c.ID)
		done(err)
		if err != nil {
			return nil, err
		}
	}
	// Refresh what inspect says (ports are the same; state changed).
	fresh, err := Find(ctx, eng, s.Lab)
	if err != nil {
		return nil, err
	}
	return fresh, waitReady(ctx, eng, fresh, o)
}

// create makes the network, volume and both containers, starting them together: the backend retries its
// database connection, so starting PostgreSQL first would only add its start-up time to ours.
func create(ctx context.Context, eng Engine, s *Session, o StartOptions) error {
	netLabels := sessionLabels(s, "")
	done := step(o.Reporter, "network", "Creating network and volume")
	err := eng.EnsureNetwork(ctx, networkName(s.Lab), netLabels)
	if err == nil {
		err = eng.EnsureVolume(ctx, volumeName(s.Lab), netLabels)
	}
	done(err)
	if err != nil {
		return err
	}
	pgPassword := randomHex(16)
	pgAlias := "postgres"
	pg := ContainerSpec{
		Name:    containerName(s.Lab, RolePostgres),
		Image:   o.PostgresImage,
		User:    "postgres",
		Env:     []string{"POSTGRES_USER=" + postgresUser, pgPasswordEnv + "=" + pgPassword},
		Labels:  sessionLabels(s, RolePostgres),
		Network: networkName(s.Lab),
		Aliases: []string{pgAlias},
		Mounts:  []Mount{{Volume: volumeName(s.Lab), Target: "/var/lib/postgresql/data"}},
	}
	sessionDir := o.State.SessionDir(s.Lab)
	bs := ContainerSpec{
		Name:  containerName(s.Lab, RoleBackstage),
		Image: o.BackstageImage,
		Env: []string{
			tokenEnv + "=" + s.Token,
			"POSTGRES_HOST=" + pgAlias,
			"POSTGRES_PORT=5432",
			"POSTGRES_USER=" + postgresUser,
			"POSTGRES_PASSWORD=" + pgPassword,
		},
		Labels:  sessionLabels(s, RoleBackstage),
		Network: networkName(s.Lab),
		Mounts: []Mount{
			{Source: s.Workspace, Target: "/workspace", ReadOnly: true},
			{Source: filepath.Join(sessionDir, "fixtures"), Target: "/fixtures", ReadOnly: true},
			{Source: filepath.Join(sessionDir, "config"), Target: "/config", ReadOnly: true},
		},
	}
	// A port can be taken between choosing it and binding it: choose again a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = runWithFreePorts(ctx, eng, s, pg, bs, o.Reporter); lastErr == nil || !isPortInUse(lastErr) {
			return lastErr
		}
		_, _ = removeLabelled(context.WithoutCancel(ctx), eng, map[string]string{LabelSession: s.ID, LabelRole: RoleBackstage}, Discard)
		_, _ = removeLabelled(context.WithoutCancel(ctx), eng, map[string]string{LabelSession: s.ID, LabelRole: RolePostgres}, Discard)
	}
	return lastErr
}

func runWithFreePorts(ctx context.Context, eng Engine, s *Session, pg, bs ContainerSpec, r Reporter) error {
	var err error
	if s.BackstagePort, err = freePort(); err != nil {
		return err
	}
	if s.PostgresPort, err = freePort(); err != nil {
		return err
	}
	pg.Ports = map[string]int{postgresPort: s.PostgresPort}
	bs.Ports = map[string]int{backstagePort: s.BackstagePort}
	bs.Env = append(bs.Env, "LAB_BASE_URL="+s.URL())
	done := step(r, "containers", "Starting PostgreSQL and Backstage")
	pgID, err := eng.Run(ctx, pg)
	if err == nil {
		var bsID string
		bsID, err = eng.Run(ctx, bs)
		if err == nil {
			var bc, pc Container
			if bc, err = eng.Inspect(ctx, bsID); err == nil {
				s.Backstage = &bc
			}
			if pc, err = eng.Inspect(ctx, pgID); err == nil {
				s.Postgres = &pc
			}
		}
	}
	done(err)
	return err
}

func isPortInUse(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use")
}

// prepareFiles lays out the workspace (if new), the fixture copy and the config overlays the
// Backstage container mounts.
func prepareFiles(o StartOptions) error {
	lab := o.Lab
	if _, err := os.Stat(o.Workspace); errors.Is(err, fs.ErrNotExist) {
		done := step(o.Reporter, "workspace", "Creating workspace "+o.Workspace)
		err := CopyTree(lab.FS, "workspace", o.Workspace)
		done(err)
		if err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("workspace: %w", err)
	} else {
		// The learner's files stay as they are; starting files they deleted (or never had) come back.
		n, err := copyTree(lab.FS, "workspace", o.Workspace, false)
		if err != nil {
			return err
		}
		text := "Using your existing workspace " + o.Workspace
		if n > 0 {
			text += fmt.Sprintf(" (%d missing starting files restored)", n)
		}
		o.Reporter.Event(Event{Step: "workspace", Status: StatusWarn, Text: text})
	}
	dir := o.State.SessionDir(lab.Slug)
	for _, sub := range []string{"fixtures", "config"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("prepare session files: %w", err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("prepare session files: %w", err)
		}
	}
	if _, err := fs.Stat(lab.FS, "fixtures"); err == nil {
		if err := CopyTree(lab.FS, "fixtures", filepath.Join(dir, "fixtures")); err != nil {
			return err
		}
	}
	return WriteConfig(o.Lab, o.Workspace, filepath.Join(dir, "config"))
}

// WriteConfig writes the config overlays mounted at /config: the catalog locations of the lab, the lab's
// own overlay, and (for labs about configuration) the learner's config file, in that order.
func WriteConfig(lab *labs.Lab, workspace, dir string) error {
	var locs []map[string]string
	for _, f := range lab.Fixtures.Catalog {
		locs = append(locs, map[string]string{"type": "file", "target": path.Join("/fixtures", f)})
	}
	for _, f := range lab.Fixtures.Locations {
		locs = append(locs, map[string]string{"type": "file", "target": path.Join("/workspace", f)})
	}
	data, err := yaml.Marshal(map[string]any{"catalog": map[string]any{"locations": locs}})
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "10-locations.yaml"), data, 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if lab.Fixtures.Config != "" {
		data, err := fs.ReadFile(lab.FS, path.Join("fixtures", lab.Fixtures.Config))
		if err != nil {
			return fmt.Errorf("lab config overlay: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "20-lab.yaml"), data, 0o644); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
	}
	if lab.Fixtures.WorkspaceConfig != "" {
		data, err := os.ReadFile(filepath.Join(workspace, lab.Fixtures.WorkspaceConfig))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("workspace config: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "30-workspace.yaml"), data, 0o644); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
	}
	return nil
}

// CopyTree copies the directory src of fsys to the host directory dst (files 0644, directories 0755:
// the Backstage container reads them as a non-root user).
func CopyTree(fsys fs.FS, src, dst string) error {
	_, err := copyTree(fsys, src, dst, true)
	return err
}

// copyTree copies src to dst; without overwrite, files that exist in dst are kept. It returns the number
// of files written.
func copyTree(fsys fs.FS, src, dst string, overwrite bool) (int, error) {
	n := 0
	err := fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		rel := p
		if src != "." {
			rel = strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		} else if p == "." {
			rel = ""
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !overwrite {
			if _, err := os.Lstat(target); err == nil {
				return nil
			}
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		n++
		return nil
	})
	return n, err
}

// Restart re-reads the lab's and the learner's configuration and restarts the Backstage container,
// keeping the database. A configuration Backstage rejects makes the backend exit: the error then carries
// its last log lines, and the learner can fix the file and restart again.
func Restart(ctx context.Context, eng Engine, s *Session, o StartOptions) (*Session, error) {
	if o.Reporter == nil {
		o.Reporter = Discard
	}
	if o.Wait == 0 {
		o.Wait = 3 * time.Minute
	}
	if err := s.complete(); err != nil {
		return nil, err
	}
	o.Workspace = s.Workspace
	if err := prepareFiles(o); err != nil {
		return nil, err
	}
	done := step(o.Reporter, "restart", "Restarting Backstage")
	var err error
	if s.Backstage.Running {
		err = eng.Stop(ctx, s.Backstage.ID)
	}
	if err == nil && !s.Postgres.Running {
		err = eng.Start(ctx, s.Postgres.ID)
	}
	if err == nil {
		err = eng.Start(ctx, s.Backstage.ID)
	}
	done(err)
	if err != nil {
		return nil, err
	}
	fresh, err := Find(ctx, eng, s.Lab)
	if err != nil {
		return nil, err
	}
	return fresh, waitReady(ctx, eng, fresh, o)
}

// WorkspaceConfigChanged reports whether the learner's config file (lab.Fixtures.WorkspaceConfig) differs
// from the copy the running Backstage was started with, so a restart is needed to apply it.
func WorkspaceConfigChanged(lab *labs.Lab, workspace string, state StateDir) bool {
	if lab.Fixtures.WorkspaceConfig == "" {
		return false
	}
	current, err := os.ReadFile(filepath.Join(workspace, lab.Fixtures.WorkspaceConfig))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	applied, _ := os.ReadFile(filepath.Join(state.SessionDir(lab.Slug), "config", "30-workspace.yaml"))
	return string(current) != string(applied)
}

// complete fails when a container of the session is gone (removed by hand, or a start cut short).
func (s *Session) complete() error {
	if s.Backstage == nil || s.Postgres == nil {
		return fmt.Errorf("session %s of lab %s is incomplete: run `lab destroy %s`, then `lab start %s`", s.ID, s.Lab, s.Lab, s.Lab)
	}
	return nil
}
