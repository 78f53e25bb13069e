package backstage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DoHeaders is Do with extra request headers, returning the response headers as well. An Authorization
// header in header replaces the client's token; anonymous sends no token at all.
func (c *Client) DoHeaders(ctx context.Context, method, path string, body any, header map[string]string, anonymous bool) (int, http.Header, []byte, error) {
	r := request{method: method, path: path, body: body, header: header, noAuth: anonymous}
	for k := range header {
		if strings.EqualFold(k, "Authorization") {
			r.noAuth = true // keep the caller's Authorization header
		}
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}
