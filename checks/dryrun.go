package checks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// checkDryRun: the Template in the workspace, dry-run by the scaffolder with the check's values (and
// every file of the template's directory), produces what the check expects.
func (r *runner) checkDryRun(ctx context.Context, c labs.Check) CheckResult {
	where := c.Template
	template, res := r.readTemplate(c.Template)
	if res != nil {
		return *res
	}
	files, err := templateFiles(r.env.Workspace, c.Template)
	if err != nil {
		return failed(where, fmt.Sprintf("Could not read the files beside %s: %v.", c.Template, err), "readable template files", err.Error())
	}
	values, _ := jsonable(c.Values).(map[string]any)
	resp, status, err := r.env.API.DryRun(ctx, backstage.DryRunRequest{Template: template, Values: values, DirectoryContents: files})
	if err != nil {
		return notReady(err)
	}
	expect := c.Expect
	if expect == nil {
		expect = &labs.DryRunExpect{}
	}
	wantStatus := expect.Status
	if wantStatus == 0 {
		wantStatus = 200
	}
	if status != wantStatus {
		msg := fmt.Sprintf("The scaffolder's dry-run of %s answered %d, expected %d.", c.Template, status, wantStatus)
		found := fmt.Sprintf("status %d", status)
		if status >= 200 && status <= 299 {
			// A run where a refusal was expected: the body is the whole run, not a reason.
			msg += " It accepted the values and ran the template."
		} else if errs := dryRunErrors(resp); errs != "" {
			msg += " It said: " + errs + "."
			found += ": " + errs
		}
		return failed(where, msg, fmt.Sprintf("status %d", wantStatus), found)
	}

	var problems, expected, found []string
	add := func(problem, exp, got string) {
		problems, expected, found = append(problems, problem), append(expected, exp), append(found, got)
	}
	if expect.Error != "" {
		re, err := regexp.Compile(expect.Error)
		if err != nil {
			return badRegexp(where, "expect.error", err)
		}
		errs := dryRunErrors(resp)
		if !re.MatchString(errs) && !re.MatchString(resp.Body) {
			add(fmt.Sprintf("its error does not match /%s/ (it said: %s)", expect.Error, errs), "error matching /"+expect.Error+"/", errs)
		}
	}
	if status >= 200 && status <= 299 {
		contents := map[string]string{}
		var paths []string
		for _, f := range resp.DirectoryContents {
			p := cleanPath(f.Path)
			data, _ := base64.StdEncoding.DecodeString(f.Base64Content)
			contents[p] = string(data)
			paths = append(paths, p)
		}
		produced := strings.Join(paths, ", ")
		if produced == "" {
			produced = "no files"
		}
		for _, f := range expect.Files {
			if _, ok := contents[cleanPath(f)]; !ok {
				add(fmt.Sprintf("it did not produce %s (it produced %s)", f, produced), "file "+f, produced)
			}
		}
		for _, f := range expect.AbsentFiles {
			if _, ok := contents[cleanPath(f)]; ok {
				add(fmt.Sprintf("it produced %s, which it should not", f), "no file "+f, "file "+f)
			}
		}
		for _, f := range sortedKeys(expect.FileContains) {
			pattern := expect.FileContains[f]
			re, err := regexp.Compile(pattern)
			if err != nil {
				return badRegexp(where, "expect.fileContains", err)
			}
			content, ok := contents[cleanPath(f)]
			switch {
			case !ok:
				add(fmt.Sprintf("it did not produce %s (it produced %s)", f, produced), "file "+f, produced)
			case !re.MatchString(content):
				add(fmt.Sprintf("%s does not match /%s/ (it starts: %s)", f, pattern, show(snippet(content, 120))),
					f+" matching /"+pattern+"/", snippet(content, 120))
			}
		}
		for _, p := range sortedKeys(expect.Output) {
			want := expect.Output[p]
			got, ok := lookup(resp.Output, splitPath(p))
			if !ok || !looseEqual(want, got) {
				add(fmt.Sprintf("output %s is %s, expected %s", p, showFound(got, ok), show(want)),
					"output "+p+": "+show(want), "output "+p+": "+showFound(got, ok))
			}
		}
		if expect.Log != "" {
			re, err := regexp.Compile(expect.Log)
			if err != nil {
				return badRegexp(where, "expect.log", err)
			}
			matched := false
			var last []string
			for _, l := range resp.Log {
				if re.MatchString(l.Body.Message) {
					matched = true
					break
				}
				last = append(last, l.Body.Message)
			}
			if !matched {
				if len(last) > 3 {
					last = last[len(last)-3:]
				}
				tail := strings.Join(last, " | ")
				add(fmt.Sprintf("no log line matches /%s/ (the log ends: %s)", expect.Log, tail), "a log line matching /"+expect.Log+"/", tail)
			}
		}
		for _, sp := range dryRunStepProblems(expect.Steps, resp.Log) {
			add(sp.problem, sp.expected, sp.found)
		}
	}
	if len(problems) == 0 {
		return passed(where)
	}
	msg := fmt.Sprintf("The scaffolder's dry-run of %s: %s.", c.Template, strings.Join(problems, "; "))
	return failed(where, msg, strings.Join(expected, "; "), strings.Join(found, "; "))
}

// readTemplate reads the Template entity from a workspace file: the document of kind Template, else the
// first. A failure is the learner's (missing file, invalid YAML) and comes back as a result.
func (r *runner) readTemplate(file string) (map[string]any, *CheckResult) {
	docs, ye, err := readWorkspaceYAML(r.env.Workspace, file)
	if errors.Is(err, fs.ErrNotExist) {
		res := failed(file, fmt.Sprintf("%s does not exist in your workspace.", file), "file "+file, "no such file")
		return nil, &res
	}
	if err != nil {
		res := failed(file, fmt.Sprintf("Could not read %s: %v.", file, err), "a readable file", err.Error())
		return nil, &res
	}
	if ye != nil {
		res := failed(ye.where(file), fmt.Sprintf("%s is not valid YAML: %s.", ye.where(file), trimDot(ye.Message)), "valid YAML", ye.Message)
		return nil, &res
	}
	var doc *yaml.Node
	for _, d := range docs {
		if k, _ := docKindName(d); strings.EqualFold(k, "Template") {
			doc = d
			break
		}
	}
	if doc == nil {
		res := failed(file, fmt.Sprintf("%s has no document of kind Template; it has: %s.", file, docNames(docs)), "kind: Template", docNames(docs))
		return nil, &res
	}
	var v any
	if err := doc.Decode(&v); err != nil {
		res := failed(file, fmt.Sprintf("Could not read the Template in %s: %v.", file, err), "a Template", err.Error())
		return nil, &res
	}
	m, ok := jsonable(v).(map[string]any)
	if !ok {
		res := failed(file, fmt.Sprintf("The Template in %s is not a mapping.", file), "a Template", show(v))
		return nil, &res
	}
	return m, nil
}

// templateFiles returns every file of the template's directory (the skeleton root), base64-encoded,
// with paths relative to that directory (e.g. skeleton/README.md).
func templateFiles(workspace, template string) ([]backstage.DryRunFile, error) {
	dir := filepath.Join(workspace, filepath.FromSlash(path.Dir(template)))
	files := []backstage.DryRunFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, backstage.DryRunFile{Path: filepath.ToSlash(rel), Base64Content: base64.StdEncoding.EncodeToString(data)})
		return nil
	})
	return files, err
}

// dryRunErrors renders the errors of a failed dry-run.
func dryRunErrors(resp *backstage.DryRunResponse) string {
	if resp == nil {
		return ""
	}
	msgs := make([]string, 0, len(resp.Errors))
	for _, e := range resp.Errors {
		msgs = append(msgs, trimDot(e.String()))
	}
	if len(msgs) == 0 {
		return snippet(resp.Body, 200)
	}
	return strings.Join(msgs, "; ")
}

func cleanPath(p string) string {
	return path.Clean(strings.TrimPrefix(p, "./"))
}

// badRegexp reports a lab author's mistake; lab verify catches it before learners do.
func badRegexp(where, field string, err error) CheckResult {
	return failed(where, fmt.Sprintf("The lab's %s is not a valid regular expression (%v): report this to the lab's author.", field, err), "", "")
}

// snippet returns the first n runes of s, on one line.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
