package checks

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/backstage-lab/lab/labs"
)

// checkFileYAML: a workspace file parses as YAML and (optionally) has, or lacks, a value at a path.
func (r *runner) checkFileYAML(c labs.Check) CheckResult {
	file := c.File
	docs, ye, err := readWorkspaceYAML(r.env.Workspace, file)
	if errors.Is(err, fs.ErrNotExist) {
		return failed(file, fmt.Sprintf("%s does not exist in your workspace.", file), "file "+file, "no such file")
	}
	if err != nil {
		return failed(file, fmt.Sprintf("Could not read %s: %v.", file, err), "a readable file", err.Error())
	}
	if ye != nil {
		return failed(ye.where(file), fmt.Sprintf("%s is not valid YAML: %s.", ye.where(file), trimDot(ye.Message)), "valid YAML", ye.Message)
	}
	var doc *yaml.Node
	if c.Select != "" {
		kind, name, _ := strings.Cut(c.Select, "/")
		doc = findDoc(docs, kind, name)
		if doc == nil {
			return failed(file, fmt.Sprintf("%s has no document with kind %s and metadata.name %s; it has: %s.", file, kind, name, docNames(docs)),
				"a document "+c.Select, docNames(docs))
		}
	} else if len(docs) > 0 {
		doc = docs[0]
	}
	if c.Path == "" {
		return passed(file)
	}
	if doc == nil {
		return failed(file, fmt.Sprintf("%s is empty: it does not set %s.", file, c.Path), c.Path+" set", "an empty file")
	}
	node, line := lookupNode(doc, splitPath(c.Path))
	where := file
	if line > 0 {
		where = fmt.Sprintf("%s:%d", file, line)
	}
	if node == nil {
		if c.Absent {
			return passed(where)
		}
		want := c.Path + " set"
		if c.Equals != nil {
			want = c.Path + ": " + show(c.Equals)
		}
		return failed(where, fmt.Sprintf("%s does not set %s.", file, c.Path), want, notSet)
	}
	var got any
	if err := node.Decode(&got); err != nil {
		return failed(where, fmt.Sprintf("Could not read the value of %s in %s: %v.", c.Path, where, err), c.Path, err.Error())
	}
	if c.Absent {
		return failed(where, fmt.Sprintf("%s still sets %s (to %s); it should not.", where, c.Path, show(got)),
			c.Path+" not set", c.Path+": "+show(got))
	}
	if c.Equals != nil && !looseEqual(c.Equals, got) {
		return failed(where, fmt.Sprintf("%s in %s is %s, expected %s.", c.Path, where, show(got), show(c.Equals)),
			c.Path+": "+show(c.Equals), c.Path+": "+show(got))
	}
	return passed(where)
}
