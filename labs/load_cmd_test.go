package labs

import (
	"strings"
	"testing"
)

const cmdLabHead = `apiVersion: backstage-lab.dev/v1
slug: cmd-demo
title: Demo
domain: D2
topic: deployment
minutes: 5
summary: demo
tasks:
  - id: t
    title: T
    instructions: Do it.
    checks:
`

func TestParseCmdAndHTTPHeaderChecks(t *testing.T) {
	lab, err := Parse([]byte(cmdLabHead+`      - type: cmd
        container: postgres
        command: [psql, -U, backstage, -Atc, "select 1"]
        exitCode: 0
        stdout: '^1$'
      - type: http
        url: /.backstage/health/v1/readiness
        anonymous: true
        headers: {Origin: "https://x.example"}
        responseHeaders: {x-team: '^payments$', x-gone: ""}
`), "cmd-demo/lab.yaml", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c, h := lab.Tasks[0].Checks[0], lab.Tasks[0].Checks[1]
	if c.Container != "postgres" || len(c.Command) != 5 || c.ExitCode == nil || *c.ExitCode != 0 || c.Stdout != "^1$" {
		t.Errorf("cmd check = %+v", c)
	}
	if !h.Anonymous || h.Headers["Origin"] != "https://x.example" || h.ResponseHeaders["x-team"] != "^payments$" || h.ResponseHeaders["x-gone"] != "" {
		t.Errorf("http check = %+v", h)
	}
}

func TestParseCmdCheckProblems(t *testing.T) {
	tests := []struct {
		check string
		want  string
	}{
		{"      - type: cmd\n        container: db\n        command: [psql]\n", `container "db" must be one of backstage, postgres`},
		{"      - type: cmd\n        container: postgres\n", `a cmd check needs "command"`},
		{"      - type: cmd\n        container: postgres\n        command: [psql]\n        stdout: '(['\n", "is not a regular expression"},
		{"      - type: cmd\n        container: postgres\n        command: [psql]\n        exitCode: 300\n", "exitCode 300 must be between 0 and 255"},
		{"      - type: cmd\n        container: postgres\n        command: [psql]\n        url: /x\n", `field "url" does not apply to a cmd check`},
		{"      - type: http\n        url: /x\n        responseHeaders: {a: '(['}\n", "responseHeaders.a"},
		{"      - type: http\n        url: /x\n        anonymous: true\n        status: 401\n        headers: {Authorization: Bearer x}\n", "anonymous sends no Authorization header"},
		{"      - type: http\n        url: /x\n", "an http check needs status, json or responseHeaders"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(cmdLabHead+tc.check), "cmd-demo/lab.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.check, err, tc.want)
		}
	}
}
