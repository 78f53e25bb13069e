package checks

import (
	"strings"
	"testing"

	"github.com/backstage-lab/lab/labs"
)

func TestFileYAMLCheck(t *testing.T) {
	ws := writeFiles(t, map[string]string{
		"app-config.yaml": "app:\n  title: Lab\ntechdocs:\n  builder: external\n  generator:\n    runIn: local\ncatalog:\n  processingInterval: { seconds: 5 }\n",
		"catalog/multi.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\nspec:\n  owner: team-a\n---\n" +
			"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: b\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  steps:\n    - action: fetch:template\n",
		"catalog/tab.yaml":    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n\tname: x\n",
		"catalog/broken.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n spec: {}\n",
	})
	tests := []struct {
		name    string
		check   labs.Check
		verdict Verdict
		where   string
		msg     []string
	}{
		{name: "parses", check: labs.Check{File: "app-config.yaml"}, verdict: Pass, where: "app-config.yaml"},
		{name: "value equals", check: labs.Check{File: "app-config.yaml", Path: "techdocs.generator.runIn", Equals: "local"}, verdict: Pass, where: "app-config.yaml:6"},
		{name: "number equals", check: labs.Check{File: "app-config.yaml", Path: "catalog.processingInterval.seconds", Equals: 5.0}, verdict: Pass},
		{name: "present", check: labs.Check{File: "app-config.yaml", Path: "app.title"}, verdict: Pass},
		{
			name:    "value differs",
			check:   labs.Check{File: "app-config.yaml", Path: "techdocs.builder", Equals: "local"},
			verdict: Fail, where: "app-config.yaml:4",
			msg: []string{`techdocs.builder in app-config.yaml:4 is "external", expected "local".`},
		},
		{
			name:    "not set",
			check:   labs.Check{File: "app-config.yaml", Path: "techdocs.publisher.type", Equals: "local"},
			verdict: Fail, where: "app-config.yaml:3",
			msg: []string{"app-config.yaml does not set techdocs.publisher.type."},
		},
		{name: "absent", check: labs.Check{File: "app-config.yaml", Path: "backend.auth", Absent: true}, verdict: Pass},
		{
			name:    "absent but set",
			check:   labs.Check{File: "app-config.yaml", Path: "techdocs.builder", Absent: true},
			verdict: Fail, where: "app-config.yaml:4",
			msg: []string{`app-config.yaml:4 still sets techdocs.builder (to "external"); it should not.`},
		},
		{
			name:    "select a document, annotation key",
			check:   labs.Check{File: "catalog/multi.yaml", Select: "API/b", Path: "metadata.annotations.backstage.io/techdocs-ref", Equals: "dir:."},
			verdict: Pass, where: "catalog/multi.yaml:13",
		},
		{
			name:    "list index",
			check:   labs.Check{File: "catalog/multi.yaml", Select: "api/b", Path: "spec.steps.0.action", Equals: "fetch:template"},
			verdict: Pass, where: "catalog/multi.yaml:16",
		},
		{name: "first document by default", check: labs.Check{File: "catalog/multi.yaml", Path: "spec.owner", Equals: "team-a"}, verdict: Pass},
		{
			name:    "no such document",
			check:   labs.Check{File: "catalog/multi.yaml", Select: "Component/b", Path: "spec.owner"},
			verdict: Fail,
			msg:     []string{"catalog/multi.yaml has no document with kind Component and metadata.name b; it has: Component/a, API/b."},
		},
		{
			name:    "tab indentation",
			check:   labs.Check{File: "catalog/tab.yaml"},
			verdict: Fail, where: "catalog/tab.yaml:4",
			msg: []string{"catalog/tab.yaml:4 is not valid YAML: this line is indented with a TAB character; YAML indentation must use spaces."},
		},
		{
			name:    "syntax error",
			check:   labs.Check{File: "catalog/broken.yaml", Path: "spec"},
			verdict: Fail, where: "catalog/broken.yaml:5",
			msg: []string{"catalog/broken.yaml:5 is not valid YAML: did not find expected key."},
		},
		{
			name:    "missing file",
			check:   labs.Check{File: "catalog/nope.yaml"},
			verdict: Fail, where: "catalog/nope.yaml",
			msg: []string{"catalog/nope.yaml does not exist in your workspace."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check.Type = "file-yaml"
			got, rep := runCheck(t, newFake(), ws, tc.check)
			assertResult(t, got, tc.verdict, tc.where, tc.msg...)
			want := []string{
				"catalog/broken.yaml:5: did not find expected key",
				"catalog/tab.yaml:4: this line is indented with a TAB character; YAML indentation must use spaces",
			}
			if strings.Join(rep.Problems, "\n") != strings.Join(want, "\n") {
				t.Errorf("problems = %q, want %q", rep.Problems, want)
			}
		})
	}
}

func TestSplitPath(t *testing.T) {
	for in, want := range map[string]string{
		"spec.owner": "spec|owner",
		"metadata.annotations.backstage.io/techdocs-ref": "metadata|annotations|backstage.io/techdocs-ref",
		"metadata.labels.example.com/tier":               "metadata|labels|example.com/tier",
		"metadata.annotations":                           "metadata|annotations",
		"techdocs.generator.runIn":                       "techdocs|generator|runIn",
	} {
		if got := strings.Join(splitPath(in), "|"); got != want {
			t.Errorf("splitPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLooseEqual(t *testing.T) {
	tests := []struct {
		want, got any
		equal     bool
	}{
		{3, 3.0, true},
		{int64(3), 3.0, true},
		{"a", "A", false},
		{[]any{"a", 1}, []any{"a", 1.0}, true},
		{map[string]any{"x": 1}, map[string]any{"x": 1.0}, true},
		{map[string]any{"x": 1}, map[string]any{"x": 1.0, "y": 2.0}, false},
		{true, "true", false},
		{nil, nil, true},
	}
	for _, tc := range tests {
		if got := looseEqual(tc.want, tc.got); got != tc.equal {
			t.Errorf("looseEqual(%#v, %#v) = %v", tc.want, tc.got, got)
		}
	}
}

func TestParseYAMLErrorLine(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
	}{
		{"metadata:\n  name: x\n spec: 1\n", 3, "did not find expected key"},
		{"a: [1,\n  2]\nb: : x\n", 3, "mapping values are not allowed in this context"},
		{"metadata:\n  name: x\n  owner: [a, b\nspec: 1\n", 3, "did not find expected ',' or ']'"},
		{"spec:\n  owner: a\n  - b\n", 3, "did not find expected key"},
		{"a: 1\n---\nb: : 2\n", 3, "mapping values are not allowed in this context"},
		{"a:\n  b: 1\n\t c: 2\n", 3, "this line is indented with a TAB character; YAML indentation must use spaces"},
		{"a: |\n  x\n  \ty\nb: 2\n", 0, ""}, // a tab inside a block scalar is fine
	}
	for _, tc := range tests {
		_, ye := parseYAML([]byte(tc.in))
		switch {
		case tc.line == 0 && ye != nil:
			t.Errorf("parseYAML(%q) = %v, want no error", tc.in, ye.at("f"))
		case tc.line != 0 && (ye == nil || ye.Line != tc.line || ye.Message != tc.msg):
			t.Errorf("parseYAML(%q) = %+v, want line %d %q", tc.in, ye, tc.line, tc.msg)
		}
	}
}
