package backstage

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var (
	// ErrNotFound matches (with errors.Is) any 404 answer, e.g. an entity that is not in the catalog.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized matches (with errors.Is) a 401 answer: the token is missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
)

// HTTPError is a non-2xx answer from Backstage.
type HTTPError struct {
	Method string
	Path   string
	Status int
	Body   string // the response body, cut to a few KiB
}

func (e *HTTPError) Error() string {
	msg := e.Message()
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Is lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrUnauthorized) match by status.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// Message returns the human part of Backstage's error body: {"error":{"name","message"}} or
// {"message"}; else the body itself.
func (e *HTTPError) Message() string {
	return errorMessage([]byte(e.Body))
}

// errorMessage extracts the message of a Backstage error body, falling back to the trimmed body.
func errorMessage(body []byte) string {
	var b struct {
		Error *struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &b) == nil {
		if b.Error != nil && b.Error.Message != "" {
			if b.Error.Name != "" && !strings.HasPrefix(b.Error.Message, b.Error.Name) {
				return b.Error.Name + ": " + b.Error.Message
			}
			return b.Error.Message
		}
		if b.Message != "" {
			return b.Message
		}
	}
	return strings.TrimSpace(string(body))
}

// BuildError is a TechDocs build that Backstage reported as failed (an "error" event of the sync stream).
type BuildError struct {
	Message string
}

func (e *BuildError) Error() string {
	return "techdocs build failed: " + e.Message
}
