package labs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// CmdContainers are the session containers a cmd check can run in.
var CmdContainers = []string{"backstage", "postgres"}

// validateCmd checks the fields of a cmd check: where it runs, what, and what must come out.
func validateCmd(c Check) []string {
	var out []string
	if !slices.Contains(CmdContainers, c.Container) {
		out = append(out, fmt.Sprintf("container %q must be one of %s", c.Container, strings.Join(CmdContainers, ", ")))
	}
	if len(c.Command) == 0 || strings.TrimSpace(c.Command[0]) == "" {
		out = append(out, `a cmd check needs "command" (a list: the program and its arguments)`)
	}
	if c.ExitCode != nil && (*c.ExitCode < 0 || *c.ExitCode > 255) {
		out = append(out, fmt.Sprintf("exitCode %d must be between 0 and 255", *c.ExitCode))
	}
	if _, err := regexp.Compile(c.Stdout); err != nil {
		out = append(out, fmt.Sprintf("stdout %q is not a regular expression: %v", c.Stdout, err))
	}
	return out
}

// validateHTTPHeaders checks the header fields of an http check.
func validateHTTPHeaders(c Check) []string {
	var out []string
	for name, re := range c.ResponseHeaders {
		if _, err := regexp.Compile(re); err != nil {
			out = append(out, fmt.Sprintf("responseHeaders.%s %q is not a regular expression: %v", name, re, err))
		}
	}
	for name := range c.Headers {
		if strings.EqualFold(name, "Authorization") && c.Anonymous {
			out = append(out, "anonymous sends no Authorization header: do not set one in headers as well")
		}
	}
	return out
}
