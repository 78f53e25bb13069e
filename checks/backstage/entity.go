package backstage

import (
	"encoding/json"
	"strings"
)

// Annotation keys the checks read.
const (
	// AnnotationManagedByLocation names the location an entity was read from, e.g. file:/workspace/catalog/x.yaml.
	AnnotationManagedByLocation = "backstage.io/managed-by-location"
)

// Entity is a catalog entity as the catalog API serves it. Raw holds the whole JSON object, for
// dotted field paths.
type Entity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Metadata       `json:"metadata"`
	Spec       map[string]any `json:"spec,omitempty"`
	Relations  []Relation     `json:"relations,omitempty"`
	Status     *Status        `json:"status,omitempty"`

	Raw map[string]any `json:"-"`
}

// Metadata is an entity's metadata block.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	UID         string            `json:"uid,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
}

// Relation is one edge from an entity: a type (e.g. ownedBy) and a target ref like group:default/team-a
// (kind lower-case, namespace always present).
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// Status holds what the catalog reports about an entity's processing.
type Status struct {
	Items []StatusItem `json:"items"`
}

// StatusItem is one status entry; Level "error" means the entity's current file could not be processed.
type StatusItem struct {
	Type    string `json:"type"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// UnmarshalJSON decodes the typed fields and keeps the whole object in Raw.
func (e *Entity) UnmarshalJSON(data []byte) error {
	type plain Entity // same fields, no methods: avoids recursion
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*e = Entity(p)
	e.Raw = raw
	return nil
}

// Ref returns the entity's ref, kind:namespace/name, with the kind lower-cased as Backstage writes it.
func (e *Entity) Ref() string {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(e.Kind) + ":" + ns + "/" + e.Metadata.Name
}

// Errors returns the messages of the error-level status items.
func (e *Entity) Errors() []string {
	if e.Status == nil {
		return nil
	}
	var out []string
	for _, it := range e.Status.Items {
		if strings.EqualFold(it.Level, "error") {
			out = append(out, it.Message)
		}
	}
	return out
}

// UnprocessedEntity is an entity the catalog has read but not (successfully) processed, as listed by
// the catalog-backend-module-unprocessed (a refresh_state row).
type UnprocessedEntity struct {
	EntityID          string            `json:"entity_id"`
	EntityRef         string            `json:"entity_ref"`
	LocationKey       string            `json:"location_key,omitempty"` // e.g. file:/workspace/catalog/x.yaml
	UnprocessedEntity *Entity           `json:"unprocessed_entity,omitempty"`
	Errors            []ProcessingError `json:"errors,omitempty"`
}

// ProcessingError is a serialized error stored with an unprocessed entity.
type ProcessingError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Cause   *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"cause,omitempty"`
}

// String renders the error as "Name: message".
func (p ProcessingError) String() string {
	if p.Name == "" || strings.HasPrefix(p.Message, p.Name) {
		return p.Message
	}
	return p.Name + ": " + p.Message
}
