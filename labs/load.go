package labs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a lab definition, with where it is.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// InvalidError lists every problem found in a lab definition.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid lab definition:\n  " + strings.Join(lines, "\n  ")
}

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	refPattern    = regexp.MustCompile(`^[a-z0-9A-Z]+:[a-z0-9A-Z_.-]+/[a-z0-9A-Z_.-]+$`)
	yamlLineError = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField  = regexp.MustCompile(`field (\S+) not found in type labs\.(\w+)`)
)

// typeNames names the lab format's parts for messages (instead of Go type names).
var typeNames = map[string]string{
	"Lab": "the lab", "Fixtures": "fixtures", "Task": "a task", "Check": "a check", "DryRunExpect": "a dry-run expect",
}

// Parse decodes and validates a lab.yaml. source names the file in messages; dir is the lab directory
// (used to check that the files the lab names exist; may be nil).
func Parse(data []byte, source string, dir fs.FS) (*Lab, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &InvalidError{Problems: yamlProblems(source, err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var lab Lab
	if err := dec.Decode(&lab); err != nil {
		return nil, &InvalidError{Problems: yamlProblems(source, err)}
	}
	lab.Source = source
	lab.FS = dir
	recordLines(&lab, &root)
	if problems := validate(&lab, &root, dir); len(problems) > 0 {
		return nil, &InvalidError{Problems: problems}
	}
	return &lab, nil
}

// yamlProblems turns a yaml.v3 error ("yaml: line 3: ..." or a TypeError with one line per field) into problems.
func yamlProblems(source string, err error) []Problem {
	var te *yaml.TypeError
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	problems := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		m = unknownField.ReplaceAllStringFunc(m, func(x string) string {
			g := unknownField.FindStringSubmatch(x)
			return fmt.Sprintf("unknown field %q in %s (check its spelling and indentation)", g[1], typeNames[g[2]])
		})
		p := Problem{File: source, Message: m}
		if g := yamlLineError.FindStringSubmatch(m); g != nil {
			fmt.Sscanf(g[1], "%d", &p.Line)
			p.Message = g[2]
		}
		problems = append(problems, p)
	}
	return problems
}

// mapValue returns the value node for key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func docNode(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return root.Content[0]
	}
	return root
}

// taskNodes returns the mapping nodes of the tasks, in order.
func taskNodes(root *yaml.Node) []*yaml.Node {
	seq := mapValue(docNode(root), "tasks")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	return seq.Content
}

func checkNodes(task *yaml.Node) []*yaml.Node {
	seq := mapValue(task, "checks")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	return seq.Content
}

func recordLines(lab *Lab, root *yaml.Node) {
	tasks := taskNodes(root)
	for i := range lab.Tasks {
		if i >= len(tasks) {
			break
		}
		lab.Tasks[i].Line = tasks[i].Line
		checks := checkNodes(tasks[i])
		for j := range lab.Tasks[i].Checks {
			if j < len(checks) {
				lab.Tasks[i].Checks[j].Line = checks[j].Line
			}
		}
	}
}

func validate(lab *Lab, root *yaml.Node, dir fs.FS) []Problem {
	var ps []Problem
	add := func(line int, format string, args ...any) {
		ps = append(ps, Problem{File: lab.Source, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	top := docNode(root)
	lineOf := func(key string) int {
		if v := mapValue(top, key); v != nil {
			return v.Line
		}
		return top.Line
	}
	if lab.APIVersion != APIVersion {
		add(lineOf("apiVersion"), "apiVersion is %q, expected %q", lab.APIVersion, APIVersion)
	}
	if !slugPattern.MatchString(lab.Slug) {
		add(lineOf("slug"), "slug %q must be lower-case words joined by dashes (e.g. catalog-relations)", lab.Slug)
	}
	if strings.TrimSpace(lab.Title) == "" {
		add(lineOf("title"), "title is required")
	}
	if _, ok := Domains[lab.Domain]; !ok {
		add(lineOf("domain"), "domain %q is not an official exam domain; expected one of %s", lab.Domain, keys(Domains))
	}
	if _, ok := Topics[lab.Topic]; !ok {
		add(lineOf("topic"), "topic %q is unknown; expected one of %s", lab.Topic, keys(Topics))
	}
	if lab.Minutes <= 0 {
		add(lineOf("minutes"), "minutes (estimated time) must be a positive number")
	}
	if len(lab.Tasks) == 0 {
		add(lineOf("tasks"), "a lab needs at least one task")
	}
	fixtures := mapValue(top, "fixtures")
	fixLine := lineOf("fixtures")
	if fixtures != nil {
		fixLine = fixtures.Line
	}
	if dir != nil {
		for _, f := range lab.Fixtures.Catalog {
			if !exists(dir, "fixtures/"+f) {
				add(fixLine, "fixtures.catalog: fixtures/%s does not exist", f)
			}
		}
		if lab.Fixtures.Config != "" && !exists(dir, "fixtures/"+lab.Fixtures.Config) {
			add(fixLine, "fixtures.config: fixtures/%s does not exist", lab.Fixtures.Config)
		}
		for _, f := range lab.Fixtures.Locations {
			if !exists(dir, "workspace/"+f) && !exists(dir, "solution/"+f) {
				add(fixLine, "fixtures.locations: %s is in neither workspace/ nor solution/", f)
			}
		}
	}
	ps = append(ps, validateLabRequests(lab, top)...)
	seen := map[string]bool{}
	tasks := taskNodes(root)
	for i, t := range lab.Tasks {
		line := t.Line
		switch {
		case t.ID == "":
			add(line, "task %d has no id", i+1)
		case !slugPattern.MatchString(t.ID):
			add(line, "task id %q must be lower-case words joined by dashes", t.ID)
		case seen[t.ID]:
			add(line, "task id %q is used twice", t.ID)
		}
		seen[t.ID] = true
		if strings.TrimSpace(t.Title) == "" {
			add(line, "task %q has no title", t.ID)
		}
		if strings.TrimSpace(t.Instructions) == "" {
			add(line, "task %q has no instructions", t.ID)
		}
		if len(t.Checks) == 0 {
			add(line, "task %q has no checks: every task must be machine-verifiable", t.ID)
		}
		var cnodes []*yaml.Node
		if i < len(tasks) {
			cnodes = checkNodes(tasks[i])
		}
		for j, c := range t.Checks {
			var node *yaml.Node
			if j < len(cnodes) {
				node = cnodes[j]
			}
			for _, msg := range validateCheck(c, node) {
				add(c.Line, "task %q check %d: %s", t.ID, j+1, msg)
			}
		}
	}
	return ps
}

func validateCheck(c Check, node *yaml.Node) []string {
	var out []string
	allowed, ok := CheckTypes[c.Type]
	if !ok {
		return []string{fmt.Sprintf("unknown check type %q; expected one of %s", c.Type, keys(CheckTypes))}
	}
	if node != nil {
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i].Value
			if k == "type" || k == "name" || k == "explain" {
				continue
			}
			if !slices.Contains(allowed, k) {
				out = append(out, fmt.Sprintf("field %q does not apply to a %s check (it takes %s)", k, c.Type, strings.Join(allowed, ", ")))
			}
		}
	}
	need := func(field, value string) {
		if strings.TrimSpace(value) == "" {
			out = append(out, fmt.Sprintf("a %s check needs %q", c.Type, field))
		}
	}
	ref := func(field, value string) {
		if value != "" && !refPattern.MatchString(value) {
			out = append(out, fmt.Sprintf("%s %q must be a full entity ref kind:namespace/name", field, value))
		}
	}
	switch c.Type {
	case "entity", "entity-valid":
		need("entity", c.Entity)
		ref("entity", c.Entity)
	case "relation":
		need("entity", c.Entity)
		need("relation", c.Relation)
		need("target", c.Target)
		ref("entity", c.Entity)
		ref("target", c.Target)
	case "file-yaml":
		need("file", c.File) // without a path it checks only that the file parses
		if c.Path == "" && (c.Equals != nil || c.Absent) {
			out = append(out, "equals and absent need a path")
		}
	case "dry-run":
		need("template", c.Template)
		if c.Expect == nil {
			out = append(out, "a dry-run check needs expect")
		}
	case "techdocs":
		need("entity", c.Entity)
		ref("entity", c.Entity)
		need("contains", c.Contains)
	case "permission":
		need("user", c.User)
		need("permission", c.Permission)
		ref("user", c.User)
		ref("resource", c.Resource)
		if c.Decision != "ALLOW" && c.Decision != "DENY" {
			out = append(out, fmt.Sprintf("decision %q must be ALLOW or DENY", c.Decision))
		}
	case "http":
		need("url", c.URL)
		if !strings.HasPrefix(c.URL, "/") && !strings.HasPrefix(c.URL, "{answer:") {
			out = append(out, fmt.Sprintf("url %q must be a path starting with / (or with an {answer:FILE#PATH} placeholder)", c.URL))
		}
		if c.Status == 0 && len(c.JSON) == 0 && len(c.ResponseHeaders) == 0 {
			out = append(out, "an http check needs status, json or responseHeaders")
		}
		out = append(out, validateHTTPHeaders(c)...)
	case "cmd":
		out = append(out, validateCmd(c)...)
	case "answer":
		out = append(out, validateAnswer(c)...)
	}
	if c.Type == "dry-run" && c.Expect != nil {
		out = append(out, validateDryRunSteps(c.Expect)...)
	}
	return out
}

func exists(dir fs.FS, name string) bool {
	_, err := fs.Stat(dir, name)
	return err == nil
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
