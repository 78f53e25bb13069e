// Package checks judges a learner's work: it runs a lab's typed checks against what Backstage made of
// the learner's files, and reports task-by-task verdicts (see README.md).
package checks

import (
	"context"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
)

// API is what the checks ask Backstage; *backstage.Client implements it, tests use a fake.
type API interface {
	Ready(ctx context.Context) error
	Entity(ctx context.Context, ref string) (*backstage.Entity, error)
	EntitiesByRefs(ctx context.Context, refs []string) ([]*backstage.Entity, error)
	Query(ctx context.Context, filter string, fields ...string) ([]*backstage.Entity, error)
	Refresh(ctx context.Context, ref string) error
	Unprocessed(ctx context.Context, which string) ([]backstage.UnprocessedEntity, error)
	DryRun(ctx context.Context, req backstage.DryRunRequest) (*backstage.DryRunResponse, int, error)
	TechDocsSync(ctx context.Context, namespace, kind, name string) error
	TechDocsPage(ctx context.Context, namespace, kind, name, page string) (string, int, error)
	Authorize(ctx context.Context, userToken string, items ...backstage.AuthorizeItem) ([]backstage.AuthorizeResult, error)
	Do(ctx context.Context, method, path string, body any) (int, []byte, error)
}

var _ API = (*backstage.Client)(nil)

// DefaultMountPoint is where the workspace is mounted in the Backstage container.
const DefaultMountPoint = "/workspace"

// Env is what the checks run against.
type Env struct {
	API API
	// Workspace is the host directory holding the learner's files.
	Workspace string
	// MountPoint is where Workspace is mounted inside the Backstage container ("/workspace" when empty).
	MountPoint string
	// UserToken signs in as a catalog user (e.g. user:default/guest) and returns a Backstage token for
	// them; needed by permission checks only. An error matching backstage.ErrNotFound means the user is
	// not in the catalog (the learner's fault); any other error means the environment is not ready.
	UserToken func(ctx context.Context, userRef string) (string, error)
	// UIBaseURL, when set (e.g. http://127.0.0.1:3000), adds a link to the entity page to entity failures.
	UIBaseURL string
	// Exec runs a command inside the session's container of a role ("backstage" or "postgres") and
	// returns its exit code and output; needed by cmd checks only (nil: they are not-ready).
	Exec func(ctx context.Context, role string, cmd []string) (exitCode int, output string, err error)
}

func (e Env) mount() string {
	if e.MountPoint == "" {
		return DefaultMountPoint
	}
	return strings.TrimRight(e.MountPoint, "/")
}

// rel rewrites in-container workspace paths (file:/workspace/x.yaml, /workspace/x.yaml) in a message to
// workspace-relative ones (x.yaml), which is what the learner sees in their editor.
func (e Env) rel(s string) string {
	m := e.mount() + "/"
	s = strings.ReplaceAll(s, "file:"+m, "")
	return strings.ReplaceAll(s, m, "")
}

// fileOf returns the workspace-relative file an entity was read from, or "" when it is not from the
// workspace (e.g. a fixture).
func (e Env) fileOf(ent *backstage.Entity) string {
	loc := ent.Metadata.Annotations[backstage.AnnotationManagedByLocation]
	return e.relTarget(loc)
}

// relTarget turns a location target or key (file:/workspace/x.yaml or /workspace/x.yaml) into the
// workspace-relative path, or "" when it is outside the workspace.
func (e Env) relTarget(target string) string {
	t := strings.TrimPrefix(target, "file:")
	m := e.mount() + "/"
	if !strings.HasPrefix(t, m) {
		return ""
	}
	return strings.TrimPrefix(t, m)
}

// uiLink returns the entity's page in the Backstage UI, or "" without a UI.
func (e Env) uiLink(ref string) string {
	if e.UIBaseURL == "" {
		return ""
	}
	r, err := parseRef(ref)
	if err != nil {
		return ""
	}
	return strings.TrimRight(e.UIBaseURL, "/") + "/catalog/" + r.namespace + "/" + r.kind + "/" + r.name
}

// entityRef is a parsed, normalised entity ref.
type entityRef struct {
	kind, namespace, name string
}

// parseRef parses kind:namespace/name (namespace defaults to "default") and lower-cases the kind.
func parseRef(ref string) (entityRef, error) {
	kind, ns, name, err := backstage.ParseRef(ref)
	if err != nil {
		return entityRef{}, err
	}
	return entityRef{kind: strings.ToLower(kind), namespace: ns, name: name}, nil
}

// String renders the ref the way Backstage writes relation targets: kind:namespace/name.
func (r entityRef) String() string {
	return r.kind + ":" + r.namespace + "/" + r.name
}

// normRef normalises a ref for display and comparison; an unparsable ref is returned as is.
func normRef(ref string) string {
	r, err := parseRef(ref)
	if err != nil {
		return ref
	}
	return r.String()
}

// sameRef compares refs the way the catalog does: case-insensitively, with the namespace defaulted.
func sameRef(a, b string) bool {
	return strings.EqualFold(normRef(a), normRef(b))
}
