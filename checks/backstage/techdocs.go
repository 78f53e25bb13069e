package backstage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// TechDocsSync builds (or confirms up to date) the TechDocs site of an entity and waits for the build to
// finish. A failed build is a *BuildError; a missing entity is an error matching ErrNotFound.
func (c *Client) TechDocsSync(ctx context.Context, namespace, kind, name string) error {
	path := "/api/techdocs/sync/" + url.PathEscape(namespace) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
	r := request{method: http.MethodGet, path: path, accept: "text/event-stream"}
	resp, err := c.send(ctx, r)
	if err != nil {
		return fmt.Errorf("techdocs sync: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		buf := make([]byte, maxErrorBody)
		n, _ := resp.Body.Read(buf)
		return fmt.Errorf("techdocs sync: %w", newHTTPError(r, resp.StatusCode, buf[:n]))
	}
	// Server-sent events: "event: <type>" and "data: <json>" lines, a blank line ends an event.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event, data := "", ""
	var logErrs []string // MkDocs' error lines, for the message of a failed build
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		case line == "":
			switch event {
			case "finish":
				return nil
			case "error":
				return &BuildError{Message: withBuildLog(eventText(data), logErrs)}
			case "log":
				if l := buildLogError(data); l != "" {
					logErrs = append(logErrs, l)
				}
			}
			event, data = "", ""
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("techdocs sync: read events: %w", err)
	}
	switch event { // a last event without the closing blank line
	case "finish":
		return nil
	case "error":
		return &BuildError{Message: withBuildLog(eventText(data), logErrs)}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("techdocs sync: %w", ctx.Err())
	}
	return errors.New("techdocs sync: the event stream ended before the build finished")
}

// eventText decodes an event's JSON data when it is a string, else returns it as is.
func eventText(data string) string {
	var s string
	if json.Unmarshal([]byte(data), &s) == nil {
		return s
	}
	return data
}

// TechDocsPage fetches a page of an entity's built TechDocs site (index.html when page is empty).
// Every status is returned; only transport problems are errors.
func (c *Client) TechDocsPage(ctx context.Context, namespace, kind, name, page string) (string, int, error) {
	if page == "" {
		page = "index.html"
	}
	path := "/api/techdocs/static/docs/" + url.PathEscape(namespace) + "/" + url.PathEscape(kind) + "/" +
		url.PathEscape(name) + "/" + strings.TrimLeft(page, "/")
	status, data, err := c.raw(ctx, request{method: http.MethodGet, path: path, accept: "text/html"})
	if err != nil {
		return "", status, fmt.Errorf("techdocs page: %w", err)
	}
	return string(data), status, nil
}
