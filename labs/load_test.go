package labs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// parseTestdata parses labs/testdata/<dir>/lab.yaml the way Load would, with the directory as the lab's FS.
func parseTestdata(t *testing.T, dir string) (*Lab, error) {
	t.Helper()
	data, err := os.ReadFile(path.Join("testdata", dir, "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, dir+"/lab.yaml", os.DirFS(path.Join("testdata", dir)))
}

func TestParseValidMinimal(t *testing.T) {
	lab, err := parseTestdata(t, "valid-minimal")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if lab.Slug != "valid-minimal" || lab.Domain != "D3" || lab.Topic != "catalog" || lab.Minutes != 5 {
		t.Errorf("header = %q %q %q %d", lab.Slug, lab.Domain, lab.Topic, lab.Minutes)
	}
	if lab.Source != "valid-minimal/lab.yaml" || lab.FS == nil {
		t.Errorf("Source = %q, FS = %v", lab.Source, lab.FS)
	}
	if got := lab.Fixtures; len(got.Catalog) != 1 || got.Catalog[0] != "org.yaml" || len(got.Locations) != 1 || got.Locations[0] != "catalog-info.yaml" {
		t.Errorf("Fixtures = %+v", got)
	}
	if len(lab.Tasks) != 1 {
		t.Fatalf("got %d tasks, want 1", len(lab.Tasks))
	}
	task, ok := lab.Task("create-component")
	if !ok {
		t.Fatal(`Task("create-component") not found`)
	}
	if task.Line != 12 || len(task.Hints) != 1 || len(task.Checks) != 2 {
		t.Errorf("task: line %d, %d hints, %d checks; want line 12, 1 hint, 2 checks", task.Line, len(task.Hints), len(task.Checks))
	}
	entity, file := task.Checks[0], task.Checks[1]
	if entity.Type != "entity" || entity.Line != 18 || entity.Entity != "component:default/hello" || entity.Fields["spec.type"] != "service" {
		t.Errorf("entity check = %+v", entity)
	}
	if file.Type != "file-yaml" || file.Line != 22 || file.Select != "Component/hello" || file.Path != "spec.owner" || file.Equals != "team-a" {
		t.Errorf("file-yaml check = %+v", file)
	}
	if _, ok := lab.Task("nope"); ok {
		t.Error(`Task("nope") found`)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		dir  string
		line int
		msg  string
	}{
		{"invalid-unknown-field", 12, `unknown field "hint" in a task`},
		{"invalid-missing-task-id", 9, "task 1 has no id"},
		{"invalid-unknown-check-type", 15, `check 2: unknown check type "api"`},
		{"invalid-field-wrong-type-for-check", 13, `field "file" does not apply to a relation check`},
		{"invalid-bad-yaml", 11, "mapping values are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			_, err := parseTestdata(t, tt.dir)
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse error = %v, want an *InvalidError", err)
			}
			if len(ie.Problems) != 1 {
				t.Fatalf("got %d problems, want exactly 1 (keep each invalid fixture to one mistake):\n%v", len(ie.Problems), err)
			}
			p := ie.Problems[0]
			if p.File != tt.dir+"/lab.yaml" || p.Line != tt.line || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %q, want %s/lab.yaml:%d with %q", p.String(), tt.dir, tt.line, tt.msg)
			}
		})
	}
}

func TestLoadReportsEveryInvalidLab(t *testing.T) {
	_, err := Load(os.DirFS("testdata"), "testdata")
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("Load(testdata) error = %v, want an *InvalidError", err)
	}
	files := map[string]bool{}
	for _, p := range ie.Problems {
		files[p.File] = true
	}
	for _, dir := range []string{"invalid-unknown-field", "invalid-missing-task-id", "invalid-unknown-check-type", "invalid-field-wrong-type-for-check", "invalid-bad-yaml"} {
		if !files["testdata/"+dir+"/lab.yaml"] {
			t.Errorf("no problem reported for testdata/%s/lab.yaml", dir)
		}
	}
	if files["testdata/valid-minimal/lab.yaml"] {
		t.Errorf("problem reported for the valid lab: %v", err)
	}
	if !strings.Contains(err.Error(), "testdata/invalid-unknown-check-type/lab.yaml:15: ") {
		t.Errorf("Error() does not list problems as file:line: %v", err)
	}
}

func TestLoadSlugMustMatchDirectory(t *testing.T) {
	data, err := os.ReadFile("testdata/valid-minimal/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	noFixtures := bytes.Replace(data, []byte("fixtures:\n  catalog: [org.yaml]\n  locations: [catalog-info.yaml]\n"), nil, 1)
	root := fstest.MapFS{
		"valid-minimal/lab.yaml":   {Data: noFixtures},
		"other-name/lab.yaml":      {Data: noFixtures},
		"testdata/broken/lab.yaml": {Data: []byte("not: [valid")}, // a dir named testdata is skipped
		"not-a-lab/README.md":      {Data: []byte("no lab.yaml here")},
	}
	_, err = Load(root, "labs")
	var ie *InvalidError
	if !errors.As(err, &ie) || len(ie.Problems) != 1 ||
		ie.Problems[0].String() != `labs/other-name/lab.yaml:1: slug "valid-minimal" must match its directory "other-name"` {
		t.Fatalf("Load error = %v, want only the slug mismatch of other-name", err)
	}

	delete(root, "other-name/lab.yaml")
	c, err := Load(root, "labs")
	if err != nil || len(c.Labs) != 1 || c.Labs[0].Slug != "valid-minimal" {
		t.Fatalf("Load = %+v, %v; want only valid-minimal", c, err)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "labs/x/lab.yaml", Line: 7, Message: "task 1 has no id"}, "labs/x/lab.yaml:7: task 1 has no id"},
		{Problem{File: "labs/x/lab.yaml", Message: "a lab needs at least one task"}, "labs/x/lab.yaml: a lab needs at least one task"},
		{Problem{File: "lab.yaml", Line: -1, Message: "m"}, "lab.yaml: m"},
		{Problem{File: "lab.yaml", Line: 1, Message: ""}, "lab.yaml:1: "},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestBuiltin(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	if _, err := c.Get("catalog-relations"); err != nil {
		t.Fatalf("Get(catalog-relations): %v", err)
	}
	if _, err := c.Get("no-such-lab"); !errors.Is(err, ErrUnknownLab) {
		t.Errorf("Get(no-such-lab) = %v, want ErrUnknownLab", err)
	}
	for _, lab := range c.Labs {
		t.Run(lab.Slug, func(t *testing.T) {
			if lab.Source != "labs/"+lab.Slug+"/lab.yaml" {
				t.Errorf("Source = %q", lab.Source)
			}
			for _, task := range lab.Tasks {
				if len(task.Hints) == 0 {
					t.Errorf("task %q has no hints", task.ID)
				}
				for _, ch := range task.Checks {
					if ch.Type == "file-yaml" && !exists(lab.FS, "workspace/"+ch.File) && !exists(lab.FS, "solution/"+ch.File) {
						t.Errorf("task %q: file-yaml file %s is in neither workspace/ nor solution/", task.ID, ch.File)
					}
				}
			}
			for _, f := range lab.Fixtures.Catalog {
				assertYAML(t, lab.FS, "fixtures/"+f)
			}
			// The solution is the reference end state: every file in it parses, and differs from the
			// starting file it replaces (a copy of an unchanged file has no business there).
			walkFiles(t, lab.FS, "solution", func(rel string, data []byte) {
				if strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml") {
					assertYAML(t, lab.FS, "solution/"+rel)
				}
				if start, err := fs.ReadFile(lab.FS, "workspace/"+rel); err == nil && bytes.Equal(start, data) {
					t.Errorf("solution/%s is identical to workspace/%s", rel, rel)
				}
			})
		})
	}
}

// expectation is one item of a variant's expect.yaml (see labs/catalog-relations/variants/README.md).
type expectation struct {
	Task    string `yaml:"task"`
	Message string `yaml:"message"`
}

func TestBuiltinVariants(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	for _, lab := range c.Labs {
		entries, err := fs.ReadDir(lab.FS, "variants")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			t.Run(lab.Slug+"/"+e.Name(), func(t *testing.T) {
				dir := "variants/" + e.Name()
				data, err := fs.ReadFile(lab.FS, dir+"/expect.yaml")
				if err != nil {
					t.Fatalf("a variant needs expect.yaml: %v", err)
				}
				dec := yaml.NewDecoder(bytes.NewReader(data))
				dec.KnownFields(true)
				var expect []expectation
				if err := dec.Decode(&expect); err != nil {
					t.Fatalf("%s/expect.yaml: %v", dir, err)
				}
				if len(expect) == 0 {
					t.Errorf("%s/expect.yaml lists nothing", dir)
				}
				for _, x := range expect {
					if _, ok := lab.Task(x.Task); !ok {
						t.Errorf("%s/expect.yaml: no task %q in the lab", dir, x.Task)
					}
					if strings.TrimSpace(x.Message) == "" {
						t.Errorf("%s/expect.yaml: task %q has no message", dir, x.Task)
					}
				}
				changed := 0
				walkFiles(t, lab.FS, dir, func(rel string, data []byte) {
					if rel == "expect.yaml" {
						return
					}
					changed++
					base, err := fs.ReadFile(lab.FS, "solution/"+rel)
					if err != nil {
						base, err = fs.ReadFile(lab.FS, "workspace/"+rel)
					}
					if err != nil {
						t.Errorf("%s/%s replaces no workspace or solution file", dir, rel)
					} else if bytes.Equal(base, data) {
						t.Errorf("%s/%s is identical to the file it replaces", dir, rel)
					}
				})
				if changed == 0 {
					t.Errorf("%s changes no file", dir)
				}
			})
		}
	}
}

func TestCatalogRelationsTasks(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	lab, err := c.Get("catalog-relations")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"owner-ref", "relations-are-output", "system-in-domain", "depends-on", "provide-consume-api", "subcomponent", "repair-rejected-entity"}
	var got []string
	for _, task := range lab.Tasks {
		got = append(got, task.ID)
		if n := len(task.Hints); n < 2 || n > 3 {
			t.Errorf("task %q has %d hints, want 2 or 3", task.ID, n)
		}
		for i, ch := range task.Checks {
			if ch.Name == "" {
				t.Errorf("task %q check %d has no name", task.ID, i+1)
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tasks = %v, want %v", got, want)
	}
	for _, l := range lab.Fixtures.Locations {
		if strings.ContainsAny(l, "*?[") {
			t.Errorf("location %q is a glob; list files explicitly", l)
		}
	}
}

// walkFiles calls fn with the path relative to dir and the content of every file under dir.
func walkFiles(t *testing.T, fsys fs.FS, dir string, fn func(rel string, data []byte)) {
	t.Helper()
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fn(strings.TrimPrefix(p, dir+"/"), data)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// assertYAML fails the test unless every document of the file parses.
func assertYAML(t *testing.T, fsys fs.FS, name string) {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Error(err)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
	}
}
