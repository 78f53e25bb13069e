package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// checkEntity: the entity exists (or, with absent, does not) and has the expected field values.
func (r *runner) checkEntity(ctx context.Context, c labs.Check) CheckResult {
	ref := normRef(c.Entity)
	e, err := r.env.API.Entity(ctx, ref)
	if errors.Is(err, backstage.ErrNotFound) {
		if c.Absent {
			return passed(ref)
		}
		return r.missingEntity(ctx, ref)
	}
	if err != nil {
		return notReady(err)
	}
	if c.Absent {
		where := r.entityWhere(e, "")
		msg := fmt.Sprintf("%s is in the catalog, but it should not be.", ref)
		if f := r.env.fileOf(e); f != "" {
			msg = fmt.Sprintf("%s is still in the catalog, read from %s; it should not be.", ref, f)
		}
		return r.linked(failed(where, msg, "no entity "+ref, "entity "+ref), ref)
	}

	var diffs, expected, found []string
	firstPath := ""
	for _, p := range sortedKeys(c.Fields) {
		want := c.Fields[p]
		got, ok := lookup(e.Raw, splitPath(p))
		if ok && looseEqual(want, got) {
			continue
		}
		if firstPath == "" {
			firstPath = p
		}
		if ok {
			diffs = append(diffs, fmt.Sprintf("%s is %s, expected %s", p, show(got), show(want)))
		} else {
			diffs = append(diffs, fmt.Sprintf("%s is not set, expected %s", p, show(want)))
		}
		expected = append(expected, p+": "+show(want))
		found = append(found, p+": "+showFound(got, ok))
	}
	if len(diffs) == 0 {
		return passed(r.entityWhere(e, ""))
	}
	msg := fmt.Sprintf("In %s, %s.", ref, strings.Join(diffs, "; "))
	msg += r.staleNote(e)
	return r.linked(failed(r.entityWhere(e, firstPath), msg, strings.Join(expected, ", "), strings.Join(found, ", ")), ref)
}

// checkEntityValid: the entity is in the catalog and no error about it shows up in any of the three
// places Backstage reports processing errors (entity status, unprocessed entities, its Location).
func (r *runner) checkEntityValid(ctx context.Context, c labs.Check) CheckResult {
	ref := normRef(c.Entity)
	e, err := r.env.API.Entity(ctx, ref)
	if errors.Is(err, backstage.ErrNotFound) {
		return r.missingEntity(ctx, ref)
	}
	if err != nil {
		return notReady(err)
	}
	where := r.entityWhere(e, "")
	file := r.env.fileOf(e)
	var errs []string
	for _, m := range e.Errors() {
		errs = append(errs, trimDot(r.env.rel(m)))
	}
	if len(errs) > 0 {
		msg := fmt.Sprintf("Backstage reports an error for %s: %s. It keeps serving the last valid version until the file is fixed.",
			ref, strings.Join(errs, "; "))
		return r.linked(failed(where, msg, "no processing errors", strings.Join(errs, "; ")), ref)
	}
	if u := r.findUnprocessed(ctx, ref); u != nil && len(u.Errors) > 0 {
		msgs := r.unprocessedErrors(u)
		msg := fmt.Sprintf("Backstage could not process %s: %s.", ref, msgs)
		return r.linked(failed(where, msg, "no processing errors", msgs), ref)
	}
	if file != "" {
		for _, le := range r.locationErrors(ctx) {
			if le.file == file {
				msg := fmt.Sprintf("Backstage could not read %s, where %s comes from: %s.", file, ref, le.message)
				return r.linked(failed(where, msg, "no processing errors", le.message), ref)
			}
		}
	}
	return passed(where)
}

// checkRelation: the entity has the relation {type, target}, and the target exists (Backstage keeps
// relations to missing entities without complaint). With absent: the relation must not be there.
func (r *runner) checkRelation(ctx context.Context, c labs.Check) CheckResult {
	ref := normRef(c.Entity)
	target := normRef(c.Target)
	e, err := r.env.API.Entity(ctx, ref)
	if errors.Is(err, backstage.ErrNotFound) {
		if c.Absent {
			return passed(ref)
		}
		return r.missingEntity(ctx, ref)
	}
	if err != nil {
		return notReady(err)
	}
	field := specField(c.Relation, target)
	where := r.entityWhere(e, field)
	want := fmt.Sprintf("%s %s %s", ref, c.Relation, target)

	if hasRelation(e, c.Relation, target) {
		if c.Absent {
			msg := fmt.Sprintf("%s still has the relation %s %s; it should not.", ref, c.Relation, target)
			return r.linked(failed(where, msg, "no relation "+want, want), ref)
		}
		targets, err := r.env.API.EntitiesByRefs(ctx, []string{target})
		if err != nil {
			return notReady(err)
		}
		if targets[0] == nil {
			msg := fmt.Sprintf("%s has %s %s, but that points to %s, which is not in the catalog: check the kind prefix and namespace.",
				ref, c.Relation, target, target)
			if why, _ := r.whyMissing(ctx, target); why != "" {
				msg += " " + why
			}
			return r.linked(failed(where, msg, want+" (an entity in the catalog)", target+" is not in the catalog"), ref)
		}
		return passed(where)
	}
	if c.Absent {
		return passed(where)
	}

	// Missing: say as precisely as possible what is there instead.
	var notes []string
	sameType, reverse, otherTypes := relationsLike(e, c.Relation, target)
	missing := r.missingRefs(ctx, target, sameType)
	switch {
	case len(reverse) > 0:
		notes = append(notes, reverseHint(ref, c.Relation, target))
	case len(sameType) > 0:
		notes = append(notes, sameTypeHint(c.Relation, target, sameType, missing))
	case len(otherTypes) > 0:
		notes = append(notes, fmt.Sprintf("It is related to %s only by %s.", target, strings.Join(otherTypes, ", ")))
	default:
		hint := fmt.Sprintf("It has no %s relations at all.", c.Relation)
		if field != "" {
			hint = fmt.Sprintf("It has no %s relations at all: Backstage makes them from %s.", c.Relation, field)
		}
		notes = append(notes, hint)
	}
	msg := fmt.Sprintf("%s has no relation %s %s. %s", ref, c.Relation, target, strings.Join(notes, " "))
	if missing[strings.ToLower(target)] {
		msg += fmt.Sprintf(" Note that %s is not in the catalog either.", target)
	}
	msg += r.staleNote(e)
	foundRels := make([]string, 0, len(sameType)+len(reverse))
	for _, rel := range append(append([]backstage.Relation{}, sameType...), reverse...) {
		foundRels = append(foundRels, rel.Type+" "+rel.TargetRef)
	}
	found := "no such relation"
	if len(foundRels) > 0 {
		found = strings.Join(foundRels, ", ")
	}
	return r.linked(failed(where, msg, want, found), ref)
}

// hasRelation reports whether e has a relation of type typ to target (refs compared case-insensitively).
func hasRelation(e *backstage.Entity, typ, target string) bool {
	for _, rel := range e.Relations {
		if strings.EqualFold(rel.Type, typ) && sameRef(rel.TargetRef, target) {
			return true
		}
	}
	return false
}

// relationsLike sorts an entity's relations that explain a missing one: same type to other targets,
// the paired reverse type to the target, and other types to the target.
func relationsLike(e *backstage.Entity, typ, target string) (sameType, reverse []backstage.Relation, otherTypes []string) {
	rev := reverseOf(typ)
	for _, rel := range e.Relations {
		switch {
		case strings.EqualFold(rel.Type, typ):
			sameType = append(sameType, rel)
		case rev != "" && strings.EqualFold(rel.Type, rev) && sameRef(rel.TargetRef, target):
			reverse = append(reverse, rel)
		case sameRef(rel.TargetRef, target):
			otherTypes = append(otherTypes, rel.Type)
		}
	}
	return sameType, reverse, otherTypes
}

// missingRefs looks up the expected target and the targets of the given relations, and returns the
// lower-cased refs of those not in the catalog (empty when the lookup fails: the hint is only extra).
func (r *runner) missingRefs(ctx context.Context, target string, rels []backstage.Relation) map[string]bool {
	refs := []string{target}
	for _, rel := range rels {
		refs = append(refs, normRef(rel.TargetRef))
	}
	missing := map[string]bool{}
	found, err := r.env.API.EntitiesByRefs(ctx, refs)
	if err != nil {
		return missing
	}
	for i, e := range found {
		if e == nil {
			missing[strings.ToLower(refs[i])] = true
		}
	}
	return missing
}

// sameTypeHint explains relations of the right type to the wrong target: wrong kind prefix, wrong
// namespace, or simply another entity; and whether that target exists at all.
func sameTypeHint(typ, target string, rels []backstage.Relation, missing map[string]bool) string {
	want, _ := parseRef(target)
	var parts []string
	for _, rel := range rels {
		got, err := parseRef(rel.TargetRef)
		notInCatalog := ""
		if missing[strings.ToLower(normRef(rel.TargetRef))] {
			notInCatalog = ", which is not in the catalog"
		}
		switch {
		case err != nil:
			parts = append(parts, rel.TargetRef)
		case strings.EqualFold(got.name, want.name) && strings.EqualFold(got.namespace, want.namespace):
			parts = append(parts, fmt.Sprintf("%s (the kind prefix is wrong: %s instead of %s; write %s:%s)",
				rel.TargetRef, got.kind, want.kind, want.kind, want.name))
		case strings.EqualFold(got.name, want.name) && strings.EqualFold(got.kind, want.kind):
			parts = append(parts, fmt.Sprintf("%s (wrong namespace: %s instead of %s)", rel.TargetRef, got.namespace, want.namespace))
		default:
			parts = append(parts, rel.TargetRef+" (another entity)")
		}
		parts[len(parts)-1] += notInCatalog
	}
	return fmt.Sprintf("Its %s relations point to %s.", typ, strings.Join(parts, ", "))
}

// reverseHint explains a relation found in the opposite direction.
func reverseHint(ref, typ, target string) string {
	if f := specField(typ, target); f != "" {
		return fmt.Sprintf("The relation points the other way: write %s on %s (pointing to %s), not on %s.", f, ref, target, target)
	}
	// typ is one Backstage generates on the other side (e.g. ownerOf): it is written on the target.
	forward := reverseOf(typ)
	if f := specField(forward, ref); f != "" {
		return fmt.Sprintf("The relation points the other way: write %s on %s (pointing to %s), not on %s.", f, target, ref, ref)
	}
	return fmt.Sprintf("The relation points the other way: %s has %s %s.", ref, forward, target)
}

// reverseOf returns the relation type Backstage pairs with typ ("" when it has none).
func reverseOf(typ string) string {
	pairs := [][2]string{
		{"ownedBy", "ownerOf"},
		{"dependsOn", "dependencyOf"},
		{"providesApi", "apiProvidedBy"},
		{"consumesApi", "apiConsumedBy"},
		{"partOf", "hasPart"},
		{"childOf", "parentOf"},
		{"memberOf", "hasMember"},
	}
	for _, p := range pairs {
		if strings.EqualFold(typ, p[0]) {
			return p[1]
		}
		if strings.EqualFold(typ, p[1]) {
			return p[0]
		}
	}
	return ""
}

// specField names the descriptor field a learner writes to get relation typ to target ("" for the
// relations Backstage only generates on the other side, like ownerOf).
func specField(typ, target string) string {
	switch strings.ToLower(typ) {
	case "ownedby":
		return "spec.owner"
	case "dependson":
		return "spec.dependsOn"
	case "dependencyof":
		return "spec.dependencyOf"
	case "providesapi":
		return "spec.providesApis"
	case "consumesapi":
		return "spec.consumesApis"
	case "childof":
		return "spec.parent"
	case "parentof":
		return "spec.children"
	case "memberof":
		return "spec.memberOf"
	case "hasmember":
		return "spec.members"
	case "partof":
		t, _ := parseRef(target)
		switch t.kind {
		case "domain":
			return "spec.domain"
		case "component":
			return "spec.subcomponentOf"
		}
		return "spec.system"
	}
	return ""
}

// missingEntity builds the failure for an entity that is not in the catalog, with the best reason found.
func (r *runner) missingEntity(ctx context.Context, ref string) CheckResult {
	msg := fmt.Sprintf("%s is not in the catalog.", ref)
	why, where := r.whyMissing(ctx, ref)
	if why != "" {
		msg += " " + why
	}
	if where == "" {
		where = ref
	}
	return failed(where, msg, "entity "+ref+" in the catalog", "no entity "+ref)
}

// whyMissing looks for the reason an entity is not in the catalog: an unprocessed entity with errors,
// a location that could not be read, an entity with the same name but another kind or namespace, or
// workspace files that do not parse. It returns a sentence or two and a where ("" when unknown).
func (r *runner) whyMissing(ctx context.Context, ref string) (string, string) {
	if u := r.findUnprocessed(ctx, ref); u != nil {
		file := r.env.relTarget(u.LocationKey)
		from := ""
		if file != "" {
			from = " from " + file
		}
		if len(u.Errors) > 0 {
			return fmt.Sprintf("Backstage read it%s but rejected it: %s.", from, r.unprocessedErrors(u)), orRef(file, ref)
		}
		return fmt.Sprintf("Backstage has read it%s but not finished processing it yet.", from), orRef(file, ref)
	}
	if errs := r.relevantLocationErrors(ctx, ref); len(errs) > 0 {
		var parts []string
		for _, le := range errs {
			parts = append(parts, fmt.Sprintf("%s: %s", le.file, le.message))
		}
		return "Backstage could not read " + plural(len(errs), "this file", "these files") + ": " + strings.Join(parts, "; ") + ".", errs[0].file
	}
	if want, err := parseRef(ref); err == nil {
		if others, err := r.env.API.Query(ctx, "metadata.name="+want.name, "kind", "metadata.name", "metadata.namespace"); err == nil {
			var refs []string
			for _, o := range others {
				if !sameRef(o.Ref(), ref) {
					refs = append(refs, o.Ref())
				}
			}
			if len(refs) > 0 {
				return fmt.Sprintf("The catalog has %s with that name: check the kind and namespace.", strings.Join(refs, ", ")), ""
			}
		}
	}
	if len(r.problems) > 0 {
		return "Some workspace files are not valid YAML (see the problems above).", ""
	}
	if len(r.lab.Fixtures.Locations) > 0 {
		return fmt.Sprintf("No catalog file of this lab (%s) defines it: check kind, metadata.name and metadata.namespace.",
			strings.Join(r.lab.Fixtures.Locations, ", ")), ""
	}
	return "", ""
}

func orRef(file, ref string) string {
	if file != "" {
		return file + " (" + ref + ")"
	}
	return ref
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// findUnprocessed returns the failed or pending unprocessed entity for ref (errors in these auxiliary
// lookups are ignored: the module may be missing).
func (r *runner) findUnprocessed(ctx context.Context, ref string) *backstage.UnprocessedEntity {
	for _, which := range []string{"failed", "pending"} {
		list, err := r.env.API.Unprocessed(ctx, which)
		if err != nil {
			continue
		}
		for i := range list {
			got := list[i].EntityRef
			if got == "" && list[i].UnprocessedEntity != nil {
				// An entity that never passed processing has entity_ref null: use what was read.
				got = list[i].UnprocessedEntity.Ref()
			}
			if sameRef(got, ref) {
				return &list[i]
			}
		}
	}
	return nil
}

// unprocessedErrors joins an unprocessed entity's error messages, with workspace-relative paths.
func (r *runner) unprocessedErrors(u *backstage.UnprocessedEntity) string {
	msgs := make([]string, 0, len(u.Errors))
	for _, e := range u.Errors {
		msgs = append(msgs, trimDot(r.env.rel(e.String())))
	}
	return strings.Join(msgs, "; ")
}

// locationError is an error the catalog reports on a workspace Location entity (e.g. a YAML syntax error).
type locationError struct {
	file    string // workspace-relative
	message string
}

// locationErrors lists the errors on Location entities whose target is in the workspace, served ones
// and rejected ones (see rejectedLocations).
func (r *runner) locationErrors(ctx context.Context) []locationError {
	locs, err := r.env.API.Query(ctx, "kind=location")
	if err != nil {
		return nil
	}
	locs = append(locs, r.rejectedLocations(ctx)...)
	var out []locationError
	for _, l := range locs {
		target, _ := l.Spec["target"].(string)
		file := r.env.relTarget(target)
		if file == "" {
			continue
		}
		for _, m := range l.Errors() {
			out = append(out, locationError{file: file, message: trimDot(r.env.rel(m))})
		}
	}
	return out
}

// rejectedLocations returns the Location entities the catalog read but could not process, with their
// errors as error-level status items. A static location whose file has never been readable (e.g. it was
// not valid YAML when Backstage started) is not served at all: it is only listed as unprocessed, with
// entity_ref null. (A file that breaks later keeps its Location served, with the error in its status.)
// Lookup errors are ignored: the module may be missing.
func (r *runner) rejectedLocations(ctx context.Context) []*backstage.Entity {
	out := []*backstage.Entity{}
	for _, which := range []string{"failed", "pending"} {
		list, err := r.env.API.Unprocessed(ctx, which)
		if err != nil {
			continue
		}
		for _, u := range list {
			if u.UnprocessedEntity == nil || !strings.EqualFold(u.UnprocessedEntity.Kind, "Location") || len(u.Errors) == 0 {
				continue
			}
			loc := *u.UnprocessedEntity
			loc.Status = &backstage.Status{}
			for _, pe := range u.Errors {
				msg := pe.String()
				if pe.Name == "Error" { // a plain Error: its name adds nothing
					msg = pe.Message
				}
				loc.Status.Items = append(loc.Status.Items, backstage.StatusItem{Type: "backstage.io/catalog-processing", Level: "error", Message: msg})
			}
			out = append(out, &loc)
		}
	}
	return out
}

// entityWhere renders where an entity comes from: "catalog/x.yaml:7 (component:default/x)", using the
// line of path (or of the document) in the workspace file.
func (r *runner) entityWhere(e *backstage.Entity, path string) string {
	ref := e.Ref()
	file := r.env.fileOf(e)
	if file == "" {
		return ref
	}
	if line := lineOf(r.env.Workspace, file, e.Kind, e.Metadata.Name, path); line > 0 {
		return fmt.Sprintf("%s:%d (%s)", file, line, ref)
	}
	return fmt.Sprintf("%s (%s)", file, ref)
}

// staleNote explains that the catalog serves an older version of an entity whose file now has errors.
func (r *runner) staleNote(e *backstage.Entity) string {
	errs := e.Errors()
	if len(errs) == 0 {
		return ""
	}
	for i := range errs {
		errs[i] = trimDot(r.env.rel(errs[i]))
	}
	return fmt.Sprintf(" Backstage still serves the last valid version of it, because its current file has an error: %s.", strings.Join(errs, "; "))
}

// linked adds the entity's page in the Backstage UI to a failing result, when there is a UI.
func (r *runner) linked(res CheckResult, ref string) CheckResult {
	res.link = r.env.uiLink(ref)
	return res
}

// trimDot drops a trailing period, so a quoted message can end a sentence of ours.
func trimDot(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), ".")
}

// relevantLocationErrors returns the errors of the workspace files that could hold ref (see
// filterLocationErrors).
func (r *runner) relevantLocationErrors(ctx context.Context, ref string) []locationError {
	return filterLocationErrors(r.env.Workspace, ref, r.locationErrors(ctx))
}

// filterLocationErrors keeps the errors of files whose text mentions ref's name (a file that does not
// parse cannot be read any better than that), or every error when no such file has one.
func filterLocationErrors(workspace, ref string, errs []locationError) []locationError {
	want, err := parseRef(ref)
	if err != nil || len(errs) < 2 {
		return errs
	}
	var out []locationError
	for _, le := range errs {
		data, err := os.ReadFile(filepath.Join(workspace, filepath.FromSlash(le.file)))
		if err == nil && strings.Contains(string(data), want.name) {
			out = append(out, le)
		}
	}
	if len(out) == 0 {
		return errs
	}
	return out
}
