package provision

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

const pollInterval = 150 * time.Millisecond

// client returns a Backstage REST client for the session, authenticated with its token.
func (s *Session) client() *backstage.Client { return backstage.New(s.URL(), s.Token) }

// ProbeReady asks Backstage's readiness endpoint once.
func ProbeReady(ctx context.Context, s *Session) error {
	if err := s.client().Ready(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return nil
}

// waitReady waits until PostgreSQL accepts connections, Backstage answers its readiness endpoint, and
// the catalog has read the lab's files. Every poll first checks that the containers still run, so a
// crash is reported at once with the container's last log lines instead of after the deadline.
func waitReady(ctx context.Context, eng Engine, s *Session, o StartOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	pgDone := make(chan error, 1)
	go func() { pgDone <- waitPostgres(ctx, eng, s) }()

	done := step(o.Reporter, "backstage", fmt.Sprintf("Waiting ≤ %s for Backstage at %s", o.Wait, s.URL()))
	err := poll(ctx, func() (bool, error) {
		if err := alive(ctx, eng, s.Backstage, s.Postgres); err != nil {
			return false, err
		}
		return ProbeReady(ctx, s) == nil, nil
	})
	done(err)
	if err != nil {
		return timeoutMessage(ctx, err, "backstage", o.Wait, s)
	}
	if err := <-pgDone; err != nil {
		return timeoutMessage(ctx, err, "postgres", o.Wait, s)
	}
	// A file that never parsed gives no Location entity at all (only an unprocessed one): do not wait
	// for the catalog forever; lab check explains such files.
	done = step(o.Reporter, "catalog", "Waiting for the catalog to read the lab's files")
	firstSeen := map[string]time.Time{}
	cctx, cancel := context.WithTimeout(ctx, catalogWait)
	defer cancel()
	err = poll(cctx, func() (bool, error) { return catalogLoaded(cctx, s, o.Lab, firstSeen), nil })
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		done(nil)
		o.Reporter.Event(Event{Step: "catalog", Status: StatusWarn,
			Text: "The catalog has not read every file of the lab yet; `lab check` will say which and why"})
		return nil
	}
	done(err)
	return err
}

// catalogWait bounds the wait for the catalog once Backstage is ready.
const catalogWait = 20 * time.Second

func timeoutMessage(ctx context.Context, err error, what string, wait time.Duration, s *Session) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: timed out after %s waiting for %s; see `lab logs backstage` (lab %s)", ErrNotReady, wait, what, s.Lab)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	return err
}

func waitPostgres(ctx context.Context, eng Engine, s *Session) error {
	return poll(ctx, func() (bool, error) {
		if err := alive(ctx, eng, s.Postgres); err != nil {
			return false, err
		}
		code, _, err := eng.Exec(ctx, s.Postgres.ID, []string{"pg_isready", "-q", "-h", "127.0.0.1", "-U", postgresUser})
		return err == nil && code == 0, nil
	})
}

// alive fails when a container has exited, with its exit code and the last lines of its log.
func alive(ctx context.Context, eng Engine, cs ...*Container) error {
	for _, c := range cs {
		st, err := eng.Inspect(ctx, c.ID)
		if err != nil {
			return err
		}
		if st.Running {
			continue
		}
		var tail limitedBuffer
		_ = eng.Logs(context.WithoutCancel(ctx), c.ID, false, "20", &tail)
		reason := fmt.Sprintf("exited with code %d", st.ExitCode)
		if st.OOMKilled {
			reason = "was killed for using too much memory"
		}
		return fmt.Errorf("container %s %s; its last log lines:\n%s", c.Name, reason, tail.String())
	}
	return nil
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8192 {
		l.b = l.b[len(l.b)-8192:]
	}
	return len(p), nil
}
func (l *limitedBuffer) String() string { return string(l.b) }

// poll calls f until it reports done, fails, or ctx ends.
func poll(ctx context.Context, f func() (bool, error)) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// locationGrace is how long a file's Location may exist without any entity from it before lab stops
// waiting for it: a file whose every entity is invalid (a repair task) never produces one.
const locationGrace = 5 * time.Second

// catalogLoaded reports whether every catalog file of the lab has been read: each file has produced at
// least one entity, or its Location reports an error (a broken file is a task, not a reason to wait), or
// its Location has existed for locationGrace. firstSeen remembers when each Location appeared.
func catalogLoaded(ctx context.Context, s *Session, lab *labs.Lab, firstSeen map[string]time.Time) bool {
	var targets []string
	for _, f := range lab.Fixtures.Catalog {
		targets = append(targets, path.Join("/fixtures", f))
	}
	for _, f := range lab.Fixtures.Locations {
		targets = append(targets, path.Join("/workspace", f))
	}
	if len(targets) == 0 {
		return true
	}
	var filters []string
	for _, t := range targets {
		filters = append(filters, "metadata.annotations.backstage.io/managed-by-location=file:"+t, "kind=location,spec.target="+t)
	}
	c := s.client()
	entities, err := c.QueryAny(ctx, filters, "kind", "metadata.annotations", "spec.target", "status")
	if err != nil {
		return false // not up yet: keep polling
	}
	seen := map[string]bool{}
	for _, e := range entities {
		if e.Kind != "Location" {
			seen[strings.TrimPrefix(e.Metadata.Annotations[backstage.AnnotationManagedByLocation], "file:")] = true
			continue
		}
		target, _ := e.Spec["target"].(string)
		if _, ok := firstSeen[target]; !ok {
			firstSeen[target] = time.Now()
		}
		if time.Since(firstSeen[target]) > locationGrace || len(e.Errors()) > 0 {
			seen[target] = true
		}
	}
	for _, t := range targets {
		if !seen[t] {
			// A file that never parsed has no Location entity, only an unprocessed one with its errors.
			for _, which := range []string{"pending", "failed"} {
				list, _ := c.Unprocessed(ctx, which)
				for _, u := range list {
					if u.UnprocessedEntity != nil && len(u.Errors) > 0 {
						target, _ := u.UnprocessedEntity.Spec["target"].(string)
						seen[target] = true
					}
				}
			}
			break
		}
	}
	for _, t := range targets {
		if !seen[t] {
			return false
		}
	}
	return true
}
