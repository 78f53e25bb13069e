package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backstage-lab/lab/checks/backstage"
)

// The catalog processes an edit asynchronously: after a refresh it takes a second or two until the
// entity it serves matches the file. Right after an edit, Run waits for that before judging anything,
// so a check can neither fail nor pass on the state before the edit.

// catchUpPoll is the pause between two comparisons of the workspace files with the catalog.
const catchUpPoll = 200 * time.Millisecond

// stitchGrace lets the catalog update the other side of relations (reverse relations are stitched onto
// the target entity a moment after the source entity changes), so that they do not pass on the old state.
const stitchGrace = 300 * time.Millisecond

// settledRetry is how long failing checks are retried once the catalog has caught up with the files:
// long enough for reverse relations to be stitched (measured well under half a second here).
const settledRetry = time.Second

// catchUp waits until every entity written in the lab's workspace catalog files is settled, or until
// deadline: served as written, or reported as broken (the catalog then serves the last good version with
// an error status, or keeps a never-valid entity in its unprocessed list). A broken entity's checks fail
// anyway, and failing checks are retried until Options.SettleUntil, so not waiting for it costs nothing.
// It reports whether it saw the catalog catch up: some entity was not settled at first and everything
// was before the deadline. (Settled from the start proves nothing, e.g. right after a restart for a
// config change, when the catalog still serves what it had.)
func (r *runner) catchUp(ctx context.Context, deadline time.Time) bool {
	docs := r.workspaceEntities()
	if len(docs) == 0 {
		return false
	}
	refs := make([]string, 0, len(docs))
	for ref := range docs {
		refs = append(refs, ref)
	}
	for first := true; ; first = false {
		served, err := r.env.API.EntitiesByRefs(ctx, refs)
		if err == nil && allSettled(refs, docs, served, func() map[string]bool { return r.rejectedRefs(ctx) }) {
			sleep(ctx, stitchGrace)
			return !first
		}
		if !time.Now().Add(catchUpPoll).Before(deadline) || ctx.Err() != nil {
			return false
		}
		sleep(ctx, catchUpPoll)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// workspaceEntities parses the lab's workspace catalog files and returns their entity documents by ref.
// Files that do not parse are skipped: the pre-scan reports them, and the catalog keeps what it had.
func (r *runner) workspaceEntities() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, loc := range r.lab.Fixtures.Locations {
		data, err := os.ReadFile(filepath.Join(r.env.Workspace, filepath.FromSlash(loc)))
		if err != nil {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				break
			}
			kind, _ := doc["kind"].(string)
			meta, _ := doc["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			if kind == "" || name == "" {
				continue
			}
			ns, _ := meta["namespace"].(string)
			if ns == "" {
				ns = "default"
			}
			out[strings.ToLower(kind+":"+ns+"/"+name)] = doc
		}
	}
	return out
}

// rejectedRefs returns the (lower-case) refs of the entities in the unprocessed lists with errors.
func (r *runner) rejectedRefs(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, which := range []string{"failed", "pending"} {
		list, err := r.env.API.Unprocessed(ctx, which)
		if err != nil {
			continue
		}
		for _, u := range list {
			ref := u.EntityRef
			if ref == "" && u.UnprocessedEntity != nil {
				ref = u.UnprocessedEntity.Ref()
			}
			if ref != "" && len(u.Errors) > 0 {
				out[strings.ToLower(normRef(ref))] = true
			}
		}
	}
	return out
}

// allSettled reports whether each entity is served as written (see servedAsWritten), served with an
// error status, or not served and rejected (rejected is asked only when needed).
func allSettled(refs []string, docs map[string]map[string]any, served []*backstage.Entity, rejected func() map[string]bool) bool {
	if len(served) != len(refs) {
		return false
	}
	var rej map[string]bool
	for i, ref := range refs {
		e := served[i]
		switch {
		case e == nil:
			if rej == nil {
				rej = rejected()
			}
			if !rej[ref] {
				return false
			}
		case len(e.Errors()) > 0:
		case !servedAsWritten(docs[ref], e):
			return false
		}
	}
	return true
}

// servedAsWritten reports whether the served entity carries what its file says in spec and in
// metadata's annotations, labels, title and description.
func servedAsWritten(doc map[string]any, e *backstage.Entity) bool {
	if !subset(doc["spec"], e.Raw["spec"]) {
		return false
	}
	meta, _ := doc["metadata"].(map[string]any)
	gotMeta, _ := e.Raw["metadata"].(map[string]any)
	for _, k := range []string{"annotations", "labels", "title", "description"} {
		if !subset(meta[k], gotMeta[k]) {
			return false
		}
	}
	return true
}

// subset reports whether got has every value of want (maps compared key by key; substitutions such as
// {$text: ./file} are replaced by the catalog, so they match anything).
func subset(want, got any) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		for k := range w {
			if strings.HasPrefix(k, "$") {
				return true
			}
		}
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !subset(wv, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return looseEqual(want, got)
}
