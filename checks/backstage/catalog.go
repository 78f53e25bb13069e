package backstage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// queryPageSize is the page size used by Query.
const queryPageSize = 500

// ParseRef splits kind:namespace/name; the namespace defaults to "default". Kind is required.
func ParseRef(ref string) (kind, namespace, name string, err error) {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok || kind == "" {
		return "", "", "", fmt.Errorf("entity ref %q has no kind: write kind:namespace/name", ref)
	}
	namespace, name, ok = strings.Cut(rest, "/")
	if !ok {
		namespace, name = "default", rest
	}
	if name == "" || namespace == "" {
		return "", "", "", fmt.Errorf("entity ref %q: write kind:namespace/name", ref)
	}
	return kind, namespace, name, nil
}

// Entity fetches one entity by ref (kind:namespace/name). A missing entity is an error matching ErrNotFound.
func (c *Client) Entity(ctx context.Context, ref string) (*Entity, error) {
	kind, ns, name, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	path := "/api/catalog/entities/by-name/" + url.PathEscape(kind) + "/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
	var e Entity
	if err := c.call(ctx, request{method: http.MethodGet, path: path}, &e); err != nil {
		return nil, fmt.Errorf("get entity %s: %w", ref, err)
	}
	return &e, nil
}

// EntitiesByRefs fetches several entities at once; the result has one item per ref, nil where the
// catalog has no such entity.
func (c *Client) EntitiesByRefs(ctx context.Context, refs []string) ([]*Entity, error) {
	var out struct {
		Items []*Entity `json:"items"`
	}
	in := map[string]any{"entityRefs": refs}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/api/catalog/entities/by-refs", body: in}, &out); err != nil {
		return nil, fmt.Errorf("get entities by refs: %w", err)
	}
	if len(out.Items) != len(refs) {
		return nil, fmt.Errorf("get entities by refs: asked for %d, got %d", len(refs), len(out.Items))
	}
	return out.Items, nil
}

// Query lists the entities matching a catalog filter (e.g. "kind=location"), following every page.
// fields, when given, limits the returned fields (e.g. "metadata.name", "spec.target").
func (c *Client) Query(ctx context.Context, filter string, fields ...string) ([]*Entity, error) {
	var filters []string
	if filter != "" {
		filters = []string{filter}
	}
	return c.QueryAny(ctx, filters, fields...)
}

// QueryAny lists the entities matching any of the filters (the catalog ORs repeated filter parameters).
func (c *Client) QueryAny(ctx context.Context, filters []string, fields ...string) ([]*Entity, error) {
	filter := strings.Join(filters, " OR ")
	var all []*Entity
	cursor := ""
	for {
		q := url.Values{}
		if cursor != "" {
			q.Set("cursor", cursor) // the cursor carries the filter
		} else {
			for _, f := range filters {
				q.Add("filter", f)
			}
		}
		if len(fields) > 0 {
			q.Set("fields", strings.Join(fields, ","))
		}
		q.Set("limit", fmt.Sprint(queryPageSize))
		var page struct {
			Items    []*Entity `json:"items"`
			PageInfo struct {
				NextCursor string `json:"nextCursor"`
			} `json:"pageInfo"`
		}
		path := "/api/catalog/entities/by-query?" + q.Encode()
		if err := c.call(ctx, request{method: http.MethodGet, path: path}, &page); err != nil {
			return nil, fmt.Errorf("query entities %q: %w", filter, err)
		}
		all = append(all, page.Items...)
		if page.PageInfo.NextCursor == "" || len(page.Items) == 0 {
			return all, nil
		}
		cursor = page.PageInfo.NextCursor
	}
}

// Refresh asks the catalog to process an entity (and the location it comes from) again now.
func (c *Client) Refresh(ctx context.Context, ref string) error {
	in := map[string]string{"entityRef": ref}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/api/catalog/refresh", body: in}, nil); err != nil {
		return fmt.Errorf("refresh %s: %w", ref, err)
	}
	return nil
}

// Unprocessed lists the entities the catalog could not process: which is "failed" or "pending".
// Needs @backstage/plugin-catalog-backend-module-unprocessed in the backend.
func (c *Client) Unprocessed(ctx context.Context, which string) ([]UnprocessedEntity, error) {
	if which != "failed" && which != "pending" {
		return nil, fmt.Errorf("unprocessed entities: which is %q, want failed or pending", which)
	}
	var out struct {
		Entities []UnprocessedEntity `json:"entities"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/api/catalog/entities/unprocessed/" + which}, &out); err != nil {
		return nil, fmt.Errorf("list %s unprocessed entities: %w", which, err)
	}
	return out.Entities, nil
}
