package backstage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// DryRunRequest is the body of POST /api/scaffolder/v2/dry-run.
type DryRunRequest struct {
	Template          map[string]any    `json:"template"` // the whole Template entity
	Values            map[string]any    `json:"values"`
	Secrets           map[string]string `json:"secrets,omitempty"`
	DirectoryContents []DryRunFile      `json:"directoryContents"`
}

// DryRunFile is one file sent to or returned by a dry-run; paths are relative to the template's directory
// going in, and to the task workspace coming back.
type DryRunFile struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
}

// DryRunResponse is what a dry-run returned. On 200 the first four fields are set; on an error status
// Errors holds the validation errors ({errors:[...]}) or the error of a Backstage error body.
type DryRunResponse struct {
	Log               []DryRunLog      `json:"log"`
	DirectoryContents []DryRunFile     `json:"directoryContents"`
	Output            map[string]any   `json:"output"`
	Steps             []map[string]any `json:"steps"`
	Errors            []DryRunError    `json:"errors,omitempty"`
	Body              string           `json:"-"` // the raw response body
}

// DryRunLog is one log line of a dry-run.
type DryRunLog struct {
	Body struct {
		Message string `json:"message"`
		StepID  string `json:"stepId,omitempty"`
		Status  string `json:"status,omitempty"`
	} `json:"body"`
}

// DryRunError is a parameter validation error (jsonschema) or a Backstage error.
type DryRunError struct {
	Name     string `json:"name,omitempty"`
	Property string `json:"property,omitempty"`
	Message  string `json:"message"`
	Stack    string `json:"stack,omitempty"`
}

// String renders the error the way the scaffolder form would.
func (e DryRunError) String() string {
	if e.Stack != "" {
		return e.Stack
	}
	if e.Property != "" {
		return e.Property + " " + e.Message
	}
	if e.Name != "" {
		return e.Name + ": " + e.Message
	}
	return e.Message
}

// DryRun runs a template without side effects. Any HTTP status is returned with the decoded body: a
// 400 for invalid values is an answer about the learner's template, not an error. Only transport and
// decoding problems are errors.
func (c *Client) DryRun(ctx context.Context, req DryRunRequest) (*DryRunResponse, int, error) {
	if req.Values == nil {
		req.Values = map[string]any{}
	}
	if req.DirectoryContents == nil {
		req.DirectoryContents = []DryRunFile{}
	}
	const path = "/api/scaffolder/v2/dry-run"
	status, data, err := c.raw(ctx, request{method: http.MethodPost, path: path, body: req})
	if err != nil {
		return nil, status, fmt.Errorf("scaffolder dry-run: %w", err)
	}
	resp := &DryRunResponse{Body: string(data)}
	if status >= 200 && status <= 299 {
		if err := json.Unmarshal(data, resp); err != nil {
			return nil, status, fmt.Errorf("decode scaffolder dry-run: %w", err)
		}
		return resp, status, nil
	}
	var errs struct {
		Errors []DryRunError `json:"errors"`
	}
	if json.Unmarshal(data, &errs) == nil && len(errs.Errors) > 0 {
		resp.Errors = errs.Errors
	} else if msg := errorMessage(data); msg != "" {
		resp.Errors = []DryRunError{{Message: msg}}
	}
	return resp, status, nil
}
