package checks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlError is a YAML file that does not parse: the line (0 when the parser gave none) and a message.
type yamlError struct {
	Line    int
	Message string
}

// at renders "file:line: message".
func (e *yamlError) at(file string) string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Message)
	}
	return file + ": " + e.Message
}

// where renders "file:line" (or "file").
func (e *yamlError) where(file string) string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d", file, e.Line)
	}
	return file
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses every document of a YAML file. A syntax error comes back with the line the learner
// has to fix and the parser's message; tab indentation gets its own message.
func parseYAML(data []byte) ([]*yaml.Node, *yamlError) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			ye := &yamlError{Message: strings.TrimPrefix(err.Error(), "yaml: ")}
			if g := yamlErrorLine.FindStringSubmatch(err.Error()); g != nil {
				ye.Line, _ = strconv.Atoi(g[1])
				ye.Message = g[2]
			}
			if tab := nearestTabLine(data, ye.Line); tab > 0 {
				// The parser's message for a tab ("found character that cannot start any token") does not
				// say what to do.
				return nil, &yamlError{Line: tab, Message: "this line is indented with a TAB character; YAML indentation must use spaces"}
			}
			ye.Line = offendingLine(data, ye.Line)
			return nil, ye
		}
		docs = append(docs, &doc)
	}
}

// maxRefineLines bounds the files offendingLine searches (it parses up to one prefix per line).
const maxRefineLines = 2000

// offendingLine improves the line of a syntax error. yaml.v3 reports where the enclosing block starts
// (e.g. the line of "name:" when a mis-indented key follows it); the line to fix is the first one, from
// there on, whose addition makes the file stop parsing.
func offendingLine(data []byte, line int) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > maxRefineLines {
		return line
	}
	for n := max(line, 1); n <= len(lines); n++ {
		if !parses(strings.Join(lines[:n], "")) {
			return n
		}
	}
	return line
}

// parses reports whether every document of s parses.
func parses(s string) bool {
	dec := yaml.NewDecoder(strings.NewReader(s))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// nearestTabLine returns the tab-indented line closest to line (ties go to the later one), or 0.
func nearestTabLine(data []byte, line int) int {
	best, bestDist := 0, -1
	for i, l := range strings.Split(string(data), "\n") {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if !strings.Contains(indent, "\t") || strings.TrimSpace(l) == "" {
			continue
		}
		n := i + 1
		dist := n - line
		if dist < 0 {
			dist = -dist
		}
		if bestDist < 0 || dist <= bestDist {
			best, bestDist = n, dist
		}
	}
	return best
}

// readWorkspaceYAML reads and parses a workspace file given relative to the workspace.
func readWorkspaceYAML(workspace, rel string) ([]*yaml.Node, *yamlError, error) {
	data, err := os.ReadFile(filepath.Join(workspace, filepath.FromSlash(rel)))
	if err != nil {
		return nil, nil, err
	}
	docs, ye := parseYAML(data)
	return docs, ye, nil
}

// prescan parses every *.yaml / *.yml file in the workspace and returns "file:line: message" for each
// one that does not parse, so a failing API check has its likely cause on screen.
func prescan(workspace string) ([]string, error) {
	problems := []string{}
	if workspace == "" {
		return problems, nil
	}
	err := filepath.WalkDir(workspace, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != workspace && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(name))
		if !d.Type().IsRegular() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, ye := parseYAML(data); ye != nil {
			rel, _ := filepath.Rel(workspace, p)
			problems = append(problems, ye.at(filepath.ToSlash(rel)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan workspace %s: %w", workspace, err)
	}
	return problems, nil
}

// docRoot returns the top node of a document.
func docRoot(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// mapGet returns the value node for key in a mapping node, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
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

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// lookupNode follows a path (see splitPath) through a YAML document. It returns the node found (nil when
// missing) and a line for messages: the line of the found key, or of the deepest key that exists.
func lookupNode(doc *yaml.Node, segs []string) (found *yaml.Node, line int) {
	n := resolveAlias(docRoot(doc))
	if n == nil {
		return nil, 0
	}
	line = n.Line
	for _, s := range segs {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					next, line = n.Content[i+1], n.Content[i].Line
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(n.Content) {
				next, line = n.Content[i], n.Content[i].Line
			}
		}
		if next == nil {
			return nil, line
		}
		n = resolveAlias(next)
	}
	return n, line
}

// docKindName returns a document's kind and metadata.name ("" when absent).
func docKindName(doc *yaml.Node) (kind, name string) {
	root := docRoot(doc)
	if k := mapGet(root, "kind"); k != nil {
		kind = k.Value
	}
	if n := mapGet(mapGet(root, "metadata"), "name"); n != nil {
		name = n.Value
	}
	return kind, name
}

// findDoc returns the document with the given kind (case-insensitive) and metadata.name.
func findDoc(docs []*yaml.Node, kind, name string) *yaml.Node {
	for _, d := range docs {
		k, n := docKindName(d)
		if strings.EqualFold(k, kind) && n == name {
			return d
		}
	}
	return nil
}

// docNames lists the documents of a file as Kind/name, for messages.
func docNames(docs []*yaml.Node) string {
	var names []string
	for _, d := range docs {
		k, n := docKindName(d)
		if k == "" && n == "" {
			continue
		}
		names = append(names, k+"/"+n)
	}
	if len(names) == 0 {
		return "no documents with kind and metadata.name"
	}
	return strings.Join(names, ", ")
}

// lineOf returns the line of a path in the document of kind/name in a workspace file (the document's
// line when the path is missing; 0 when the file or document cannot be found).
func lineOf(workspace, rel, kind, name, path string) int {
	if workspace == "" || rel == "" {
		return 0
	}
	docs, ye, err := readWorkspaceYAML(workspace, rel)
	if err != nil || ye != nil {
		return 0
	}
	doc := findDoc(docs, kind, name)
	if doc == nil {
		return 0
	}
	if path == "" {
		return docRoot(doc).Line
	}
	_, line := lookupNode(doc, splitPath(path))
	return line
}
