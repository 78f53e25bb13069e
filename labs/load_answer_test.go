package labs

import (
	"strings"
	"testing"
)

func TestValidateAnswerAndDryRunSteps(t *testing.T) {
	const head = "apiVersion: backstage-lab.dev/v1\nslug: a\ntitle: A\ndomain: D4\ntopic: templates\nminutes: 5\nsummary: s\ntasks:\n  - id: t\n    title: T\n    instructions: i\n    checks:\n"
	tests := []struct {
		name, checks string
		want         []string // problems expected; none when empty
	}{
		{"answer with key and live list", "      - {type: answer, file: answers.yaml, path: a, equals: x, url: /api/x, among: '*.id'}\n", nil},
		{"answer with key only", "      - {type: answer, file: answers.yaml, path: a, equals: x}\n", nil},
		{"answer without anything to compare", "      - {type: answer, file: answers.yaml, path: a}\n",
			[]string{"needs equals (the answer key) or url + among"}},
		{"answer with url but no among", "      - {type: answer, file: answers.yaml, path: a, url: /api/x}\n",
			[]string{"url and among go together"}},
		{"answer without file and path", "      - {type: answer, equals: x}\n", []string{`needs "file"`, `needs "path"`}},
		{"techdocs with page, link and follow", "      - {type: techdocs, entity: 'component:default/x', contains: y, page: a/index.html, link: A, follow: true}\n", nil},
		{"dry-run steps", "      - {type: dry-run, template: t.yaml, expect: {steps: {a: completed, b: skipped}}}\n", nil},
		{"dry-run steps with an unknown status", "      - {type: dry-run, template: t.yaml, expect: {steps: {a: done}}}\n",
			[]string{`expect.steps.a is "done"; expected one of completed, skipped, failed`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head+tc.checks), "a/lab.yaml", nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it; want %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
