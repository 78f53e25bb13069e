// Package backstage is a small client for the Backstage REST APIs the checks use: catalog, scaffolder,
// TechDocs and permission. Shapes follow the pinned Backstage release (see /work/shared/FACTS.md).
package backstage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody caps how much of a response the client reads (TechDocs pages and dry-run results are small).
const maxBody = 32 << 20

// maxErrorBody caps the body kept in an HTTPError.
const maxErrorBody = 4 << 10

// Client talks to one Backstage backend with a static (externalAccess) token.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:7007, no trailing slash
	Token   string
	HTTP    *http.Client // http.DefaultClient when nil
}

// New returns a client for the backend at baseURL that sends token as a bearer token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{}}
}

// request describes one call; the zero values mean: no body, the client's token, JSON accepted.
type request struct {
	method string
	path   string
	body   any    // marshalled as JSON when not nil
	token  string // overrides the client's token when set
	noAuth bool
	accept string
	header map[string]string // extra request headers
}

// send performs a request and returns the open response; the caller closes its body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, strings.TrimRight(c.BaseURL, "/")+r.path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	token := c.Token
	if r.token != "" {
		token = r.token
	}
	if !r.noAuth && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	return resp, nil
}

// raw performs a request and returns status and body whatever the status.
func (c *Client) raw(ctx context.Context, r request) (int, []byte, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s %s: %w", r.method, r.path, err)
	}
	return resp.StatusCode, data, nil
}

// call performs a request, turns a non-2xx status into an *HTTPError, and decodes a JSON body into out
// (when out is not nil).
func (c *Client) call(ctx context.Context, r request, out any) error {
	status, data, err := c.raw(ctx, r)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return newHTTPError(r, status, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", r.method, r.path, err)
	}
	return nil
}

func newHTTPError(r request, status int, body []byte) *HTTPError {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	return &HTTPError{Method: r.method, Path: r.path, Status: status, Body: string(body)}
}

// Ready asks the backend's readiness endpoint; nil means Backstage has started.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, request{method: http.MethodGet, path: "/.backstage/health/v1/readiness", noAuth: true}, nil)
}

// Do is the escape hatch: any request with the client's token. body is sent as JSON when not nil.
// Only transport errors are errors; every status is returned as is.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	return c.raw(ctx, request{method: method, path: path, body: body})
}
