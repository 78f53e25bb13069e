package checks

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

var (
	htmlScript = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
	htmlTag    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// checkTechDocs: Backstage builds the entity's TechDocs and the index page contains the expected text
// (case-insensitive, HTML tags stripped).
func (r *runner) checkTechDocs(ctx context.Context, c labs.Check) CheckResult {
	ref := normRef(c.Entity)
	page, via := c.Page, ""
	if c.Follow {
		target, p, res := r.followTechDocsEntity(ctx, ref)
		if res != nil {
			return *res
		}
		via = fmt.Sprintf(" (the docs %s points at with %s)", ref, annotationTechDocsEntity)
		if page == "" && p != "" {
			page = p
			via = fmt.Sprintf(" (the docs %s points at with %s, at %s %s)", ref, annotationTechDocsEntity, annotationTechDocsEntityPath, p)
		}
		ref = target
	}
	page = docsPage(page)
	if page == "" {
		page = "index.html"
	}
	er, err := parseRef(ref)
	if err != nil {
		return failed(ref, fmt.Sprintf("The lab's entity ref %q is invalid: %v.", c.Entity, err), "", "")
	}
	err = r.env.API.TechDocsSync(ctx, er.namespace, er.kind, er.name)
	var be *backstage.BuildError
	switch {
	case errors.Is(err, backstage.ErrNotFound):
		return r.missingEntity(ctx, ref)
	case errors.As(err, &be):
		msg := fmt.Sprintf("Backstage could not build the TechDocs of %s%s: %s.", ref, via, trimDot(r.env.rel(be.Message)))
		return r.linked(failed(ref, msg, "a TechDocs site", r.env.rel(be.Message)), ref)
	case err != nil:
		return notReady(err)
	}
	body, status, err := r.env.API.TechDocsPage(ctx, er.namespace, er.kind, er.name, page)
	if err != nil {
		return notReady(err)
	}
	if status != 200 {
		msg := fmt.Sprintf("The TechDocs of %s%s built, but its %s answers %d: is there a %s (listed in the nav of mkdocs.yml)?",
			ref, via, page, status, pageSource(page))
		if strings.Contains(page, ".md/") || strings.HasSuffix(page, ".md") {
			msg += " A page's path in the built site has no .md: docs/x/y.md is served at x/y/."
		}
		return r.linked(failed(ref, msg, page, fmt.Sprintf("status %d", status)), ref)
	}
	if c.Link != "" {
		next, nextBody, res := r.followDocsLink(ctx, er, ref+via, page, body, c.Link)
		if res != nil {
			return r.linked(*res, ref)
		}
		page, body = next, nextBody
	}
	text := pageText(body)
	if !strings.Contains(strings.ToLower(text), strings.ToLower(c.Contains)) {
		which := "page"
		if page != "index.html" {
			which = "page " + page
		}
		msg := fmt.Sprintf("The TechDocs %s of %s%s does not contain %s; it starts: %s.", which, ref, via, show(c.Contains), show(snippet(text, 160)))
		return r.linked(failed(ref, msg, "text "+show(c.Contains), snippet(text, 160)), ref)
	}
	return passed(ref)
}

// pageText strips an HTML page to its text.
func pageText(page string) string {
	s := htmlScript.ReplaceAllString(page, " ")
	s = htmlTag.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}
