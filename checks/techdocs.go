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
		msg := fmt.Sprintf("Backstage could not build the TechDocs of %s: %s.", ref, trimDot(r.env.rel(be.Message)))
		return r.linked(failed(ref, msg, "a TechDocs site", r.env.rel(be.Message)), ref)
	case err != nil:
		return notReady(err)
	}
	page, status, err := r.env.API.TechDocsPage(ctx, er.namespace, er.kind, er.name, "index.html")
	if err != nil {
		return notReady(err)
	}
	if status != 200 {
		msg := fmt.Sprintf("The TechDocs of %s built, but its index.html answers %d: is there a docs/index.md?", ref, status)
		return r.linked(failed(ref, msg, "index.html", fmt.Sprintf("status %d", status)), ref)
	}
	text := pageText(page)
	if !strings.Contains(strings.ToLower(text), strings.ToLower(c.Contains)) {
		msg := fmt.Sprintf("The TechDocs page of %s does not contain %s; it starts: %s.", ref, show(c.Contains), show(snippet(text, 160)))
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
