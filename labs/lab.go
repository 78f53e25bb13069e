// Package labs loads, validates and describes lab content. Labs are data: a lab is a directory
// labs/<slug>/ holding lab.yaml, fixtures/ (loaded into Backstage, not edited by the learner),
// workspace/ (the learner's starting files) and solution/ (the reference end state of the workspace).
package labs

import "io/fs"

// APIVersion is the only lab.yaml apiVersion this build understands.
const APIVersion = "backstage-lab.dev/v1"

// Domains are the official CBA exam domains, keyed by the id used in lab.yaml.
var Domains = map[string]string{
	"D1": "Backstage Development Workflow",
	"D2": "Backstage Infrastructure",
	"D3": "Backstage Catalog",
	"D4": "Customizing Backstage",
}

// Topics are the seven study topics learners think in (CURRICULUM.md tracks T1..T7).
var Topics = map[string]string{
	"architecture": "Architecture & terminology",
	"catalog":      "Software Catalog",
	"templates":    "Software Templates",
	"techdocs":     "TechDocs",
	"plugins":      "Plugins & the backend system",
	"security":     "Security & auth",
	"deployment":   "Deployment & configuration",
}

// Lab is one scenario, as written in labs/<slug>/lab.yaml.
type Lab struct {
	APIVersion string   `yaml:"apiVersion"`
	Slug       string   `yaml:"slug"`
	Title      string   `yaml:"title"`
	Domain     string   `yaml:"domain"` // official exam domain id: D1..D4
	Topic      string   `yaml:"topic"`  // one of Topics
	Minutes    int      `yaml:"minutes"`
	Summary    string   `yaml:"summary"`
	Fixtures   Fixtures `yaml:"fixtures"`
	Tasks      []Task   `yaml:"tasks"`
	// SolutionRequests are API calls that, after solution/ is copied, complete the tasks a learner does
	// through the API (lab solve and lab verify send them). See Request.
	SolutionRequests []Request `yaml:"solutionRequests"`

	// FS holds the lab directory (lab.yaml, fixtures/, workspace/, solution/). Not part of lab.yaml.
	FS fs.FS `yaml:"-"`
	// Source names where the lab was loaded from, for messages (e.g. "labs/catalog-relations/lab.yaml").
	Source string `yaml:"-"`
}

// Fixtures say what the lab loads into Backstage.
type Fixtures struct {
	// Catalog lists catalog files under fixtures/ that Backstage reads but the learner does not edit
	// (e.g. the organisation's groups and users). Mounted read-only at /fixtures.
	Catalog []string `yaml:"catalog"`
	// Locations lists catalog files in the learner's workspace, relative to it. Each becomes a static
	// catalog location file:/workspace/<path>, so Backstage reads what the learner edits.
	Locations []string `yaml:"locations"`
	// Config is an app-config overlay under fixtures/ layered on the image's base config.
	Config string `yaml:"config"`
	// WorkspaceConfig is an app-config file in the learner's workspace layered last, for labs whose tasks
	// change configuration. Changing it requires a backend restart (lab restart; lab check does it).
	WorkspaceConfig string `yaml:"workspaceConfig"`
	// Requests are API calls that put the catalog in the lab's starting state once Backstage is ready
	// (lab start of a new session, lab reset, lab verify). See Request.
	Requests []Request `yaml:"requests"`
}

// Task is one step of a lab the learner completes; it passes when all of its checks pass.
type Task struct {
	ID           string   `yaml:"id"`
	Title        string   `yaml:"title"`
	Instructions string   `yaml:"instructions"` // Markdown
	Hints        []string `yaml:"hints"`        // progressive: the first is gentle, the last nearly gives it away
	Checks       []Check  `yaml:"checks"`

	Line int `yaml:"-"` // line of the task in lab.yaml
}

// Check is one machine-verifiable assertion. Type selects which of the other fields apply; Validate
// rejects fields that do not belong to the type. See checks/README.md for every type.
type Check struct {
	Type string `yaml:"type"`
	// Name is a short description shown in reports; a default is derived from the check when empty.
	Name string `yaml:"name"`
	// Explain is added to the failure message: the author's pointer to what is usually wrong.
	Explain string `yaml:"explain"`

	// Catalog checks (entity, relation, entity-valid, techdocs): the entity, as kind:namespace/name.
	Entity string `yaml:"entity"`
	// entity: dotted paths into the entity (e.g. spec.type, metadata.annotations.backstage.io/techdocs-ref:
	// the first two segments are split on dots, the rest is one key) and the values expected there.
	Fields map[string]any `yaml:"fields"`
	// entity, relation, file-yaml: assert the opposite (the entity/relation/path must NOT exist).
	Absent bool `yaml:"absent"`
	// relation: relation type (e.g. ownedBy) and its target ref (kind:namespace/name).
	Relation string `yaml:"relation"`
	Target   string `yaml:"target"`

	// file-yaml: a workspace file, optionally a document in it selected by kind and name, a dotted path,
	// and an expected value (Equals) or mere presence (neither Equals nor Absent).
	File   string `yaml:"file"`
	Select string `yaml:"select"` // "Kind/name" of the document in a multi-document file
	Path   string `yaml:"path"`
	Equals any    `yaml:"equals"`

	// dry-run: a Template file in the workspace (its directory is the skeleton root) and the values to run with.
	Template string         `yaml:"template"`
	Values   map[string]any `yaml:"values"`
	Expect   *DryRunExpect  `yaml:"expect"`

	// techdocs: text the built page must contain.
	Contains string `yaml:"contains"`
	// techdocs: the page of the site to read, relative to its root (e.g. runbook/index.html); index.html
	// when empty.
	Page string `yaml:"page"`
	// techdocs: judge the docs the TechDocs reader opens for the entity: when it has the annotation
	// backstage.io/techdocs-entity, those of the entity it names (at backstage.io/techdocs-entity-path
	// when page is empty), as the frontend resolves them; the backend does not follow the annotation.
	Follow bool `yaml:"follow"`
	// techdocs: the title of a link on the page (e.g. a nav entry, "Runbook"): the check follows it, as a
	// reader clicking it would, and judges the page it leads to.
	Link string `yaml:"link"`

	// answer: a value the learner wrote in a workspace file (file + path), compared with the lab's answer
	// key (equals) and/or required to be one of the values Backstage lists live: url is a GET path and
	// among a dotted path into its JSON answer, where * stands for every item of a list (e.g. *.id).
	Among string `yaml:"among"`

	// permission: who asks, for what, on which resource, and the expected decision (ALLOW or DENY).
	User       string `yaml:"user"`
	Permission string `yaml:"permission"`
	Resource   string `yaml:"resource"`
	Decision   string `yaml:"decision"`

	// http: a request to the Backstage backend (with the checker's token) and what the answer must be.
	Method string         `yaml:"method"`
	URL    string         `yaml:"url"` // path, e.g. /api/catalog/entity-facets?facet=kind
	Body   any            `yaml:"body"`
	Status int            `yaml:"status"`
	JSON   map[string]any `yaml:"json"` // dotted path into the response → expected value
	// http: extra request headers; an Authorization header replaces the checker's token (e.g. to call
	// with a second externalAccess token, or an Origin for a CORS preflight).
	Headers map[string]string `yaml:"headers"`
	// http: send no token at all (what an anonymous caller, a browser or a probe gets).
	Anonymous bool `yaml:"anonymous"`
	// http: response headers (names case-insensitive) → a regular expression the value must match; an
	// empty value (~ or "") means the header must be absent.
	ResponseHeaders map[string]string `yaml:"responseHeaders"`

	// cmd: a command run inside one of the session's containers (container: backstage or postgres), its
	// exit code (0 unless set) and a regular expression its output (stdout and stderr) must match.
	Container string   `yaml:"container"`
	Command   []string `yaml:"command"`
	ExitCode  *int     `yaml:"exitCode"`
	Stdout    string   `yaml:"stdout"`

	Line int `yaml:"-"` // line of the check in lab.yaml
}

// DryRunExpect is what a scaffolder dry-run must produce.
type DryRunExpect struct {
	Status       int               `yaml:"status"`       // HTTP status; 200 unless set
	Files        []string          `yaml:"files"`        // paths that must be in the result
	AbsentFiles  []string          `yaml:"absentFiles"`  // paths that must not be
	FileContains map[string]string `yaml:"fileContains"` // path → regular expression its content must match
	Output       map[string]any    `yaml:"output"`       // dotted path into output → expected value
	Log          string            `yaml:"log"`          // regular expression some log line must match
	Error        string            `yaml:"error"`        // regular expression the error body must match (with status 400)
	Steps        map[string]string `yaml:"steps"`        // step id → how it ended: completed, skipped or failed
}

// CheckTypes lists the check types and the fields each may set (besides type, name, explain).
var CheckTypes = map[string][]string{
	"entity":       {"entity", "fields", "absent"},
	"relation":     {"entity", "relation", "target", "absent"},
	"entity-valid": {"entity"},
	"file-yaml":    {"file", "select", "path", "equals", "absent"},
	"dry-run":      {"template", "values", "expect"},
	"techdocs":     {"entity", "contains", "page", "follow", "link"},
	"permission":   {"user", "permission", "resource", "decision"},
	"http":         {"method", "url", "body", "status", "json", "headers", "anonymous", "responseHeaders"},
	"cmd":          {"container", "command", "exitCode", "stdout"},
	"answer":       {"file", "path", "equals", "url", "among"},
}

// Task returns the task with the given id.
func (l *Lab) Task(id string) (*Task, bool) {
	for i := range l.Tasks {
		if l.Tasks[i].ID == id {
			return &l.Tasks[i], true
		}
	}
	return nil, false
}
