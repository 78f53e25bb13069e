package backstage

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Permission names a Backstage permission. Type is "basic" or "resource" (then ResourceType is set,
// e.g. catalog-entity).
type Permission struct {
	Type         string            `json:"type"`
	Name         string            `json:"name"`
	Attributes   map[string]string `json:"attributes"`
	ResourceType string            `json:"resourceType,omitempty"`
}

// AuthorizeItem is one question to the permission backend; ResourceRef is set for resource permissions.
type AuthorizeItem struct {
	Permission  Permission
	ResourceRef string
}

// AuthorizeResult is the answer to one AuthorizeItem: Result is ALLOW, DENY or CONDITIONAL.
type AuthorizeResult struct {
	ID     string `json:"id"`
	Result string `json:"result"`
}

// Authorize asks the permission backend for decisions on behalf of a user. It needs that user's token:
// the backend refuses service credentials (the client's static token) with 403. Results come back in
// the order of items.
func (c *Client) Authorize(ctx context.Context, userToken string, items ...AuthorizeItem) ([]AuthorizeResult, error) {
	if userToken == "" {
		return nil, fmt.Errorf("authorize: a user token is required (the permission backend refuses service tokens)")
	}
	type wireItem struct {
		ID          string     `json:"id"`
		Permission  Permission `json:"permission"`
		ResourceRef string     `json:"resourceRef,omitempty"`
	}
	in := struct {
		Items []wireItem `json:"items"`
	}{}
	for i, it := range items {
		p := it.Permission
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		in.Items = append(in.Items, wireItem{ID: strconv.Itoa(i + 1), Permission: p, ResourceRef: it.ResourceRef})
	}
	var out struct {
		Items []AuthorizeResult `json:"items"`
	}
	r := request{method: http.MethodPost, path: "/api/permission/authorize", body: in, token: userToken}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	byID := make(map[string]AuthorizeResult, len(out.Items))
	for _, it := range out.Items {
		byID[it.ID] = it
	}
	results := make([]AuthorizeResult, len(items))
	for i := range items {
		id := strconv.Itoa(i + 1)
		res, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("authorize: no answer for item %s", id)
		}
		results[i] = res
	}
	return results, nil
}
