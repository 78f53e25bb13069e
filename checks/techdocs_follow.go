package checks

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
)

const (
	// annotationTechDocsRef says where an entity's docs sources are (e.g. dir:.).
	annotationTechDocsRef = "backstage.io/techdocs-ref"
	// annotationTechDocsEntity points an entity's TechDocs at another entity's docs. Only the frontend
	// follows it (buildTechDocsURL, the reader's redirect); the TechDocs backend ignores it.
	annotationTechDocsEntity = "backstage.io/techdocs-entity"
	// annotationTechDocsEntityPath deep-links into the docs of the entity named by techdocs-entity.
	annotationTechDocsEntityPath = "backstage.io/techdocs-entity-path"
)

// followTechDocsEntity resolves whose docs the TechDocs reader opens for ref, the way the frontend does
// (@backstage/plugin-techdocs-react buildTechDocsURL): backstage.io/techdocs-entity parsed as an entity ref
// with a required kind and the namespace defaulting to "default", plus backstage.io/techdocs-entity-path as
// the page. The entity without the annotation is a failure: the check is about the reference.
func (r *runner) followTechDocsEntity(ctx context.Context, ref string) (target, page string, res *CheckResult) {
	ent, err := r.env.API.Entity(ctx, ref)
	if errors.Is(err, backstage.ErrNotFound) {
		m := r.missingEntity(ctx, ref)
		return "", "", &m
	}
	if err != nil {
		m := notReady(err)
		return "", "", &m
	}
	where := ref
	if f := r.env.fileOf(ent); f != "" {
		where = f + " (" + ref + ")"
	}
	value, ok := ent.Metadata.Annotations[annotationTechDocsEntity]
	if !ok || strings.TrimSpace(value) == "" {
		msg := fmt.Sprintf("%s has no annotation %s, so its TechDocs are its own", ref, annotationTechDocsEntity)
		if own := ent.Metadata.Annotations[annotationTechDocsRef]; own != "" {
			msg += fmt.Sprintf(" (%s: %s)", annotationTechDocsRef, own)
		}
		msg += "."
		if near := nearTechDocsKeys(ent.Metadata.Annotations); len(near) > 0 {
			msg += fmt.Sprintf(" It has %s: check the spelling of the annotation key.", strings.Join(near, ", "))
		}
		m := r.linked(failed(where, msg, "annotation "+annotationTechDocsEntity, "no such annotation"), ref)
		return "", "", &m
	}
	kind, ns, name, err := backstage.ParseRef(strings.TrimSpace(value))
	if err != nil {
		msg := fmt.Sprintf("%s: %s is %s, which is not an entity ref with a kind (kind:namespace/name, e.g. "+
			"system:default/payments); the TechDocs reader cannot parse it and shows %s's own docs instead.",
			ref, annotationTechDocsEntity, show(value), ref)
		m := failed(where, msg, "kind:namespace/name", value)
		return "", "", &m
	}
	target = normRef(kind + ":" + ns + "/" + name)
	if _, err := r.env.API.Entity(ctx, target); errors.Is(err, backstage.ErrNotFound) {
		msg := fmt.Sprintf("%s points its TechDocs at %s (%s: %s), which is not in the catalog.", ref, target, annotationTechDocsEntity, value)
		if why, _ := r.whyMissing(ctx, target); why != "" {
			msg += " " + why
		}
		m := failed(where, msg, "an entity "+target+" in the catalog", "no entity "+target)
		return "", "", &m
	} else if err != nil {
		m := notReady(err)
		return "", "", &m
	}
	return target, ent.Metadata.Annotations[annotationTechDocsEntityPath], nil
}

// docsPage turns a site path (/components/worker, runbook/, x/index.html) into the HTML file MkDocs
// builds for it with directory URLs: components/worker/index.html. Empty stays empty (index.html).
func docsPage(p string) string {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" || strings.HasSuffix(p, ".html") {
		return p
	}
	return p + "/index.html"
}

// pageSource names the Markdown file MkDocs builds a page from (runbook/index.html ← docs/runbook.md).
func pageSource(page string) string {
	p := strings.TrimSuffix(strings.TrimSuffix(page, "index.html"), "/")
	if p == "" {
		return "docs/index.md"
	}
	return "docs/" + strings.TrimSuffix(strings.TrimSuffix(p, ".html"), ".md") + ".md"
}

// nearTechDocsKeys lists annotation keys that look like a misspelt TechDocs annotation.
func nearTechDocsKeys(annotations map[string]string) []string {
	var out []string
	for k, v := range annotations {
		lk := strings.ToLower(k)
		if k == annotationTechDocsRef || k == annotationTechDocsEntity || k == annotationTechDocsEntityPath {
			continue
		}
		if strings.Contains(lk, "techdoc") || strings.Contains(lk, "tech-doc") {
			out = append(out, k+": "+v)
		}
	}
	sort.Strings(out)
	return out
}
