package checks

import (
	"context"
	"fmt"
	"html"
	"path"
	"regexp"
	"strings"
)

// htmlAnchor matches an <a> element: its attributes and its content.
var (
	htmlAnchor = regexp.MustCompile(`(?is)<a\b([^>]*)>(.*?)</a>`)
	htmlHref   = regexp.MustCompile(`(?is)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
)

// docsLink is a link found on a built TechDocs page.
type docsLink struct{ text, href string }

// docsLinks lists the links of an HTML page with their text (tags stripped) and href.
func docsLinks(body string) []docsLink {
	var out []docsLink
	for _, m := range htmlAnchor.FindAllStringSubmatch(body, -1) {
		h := htmlHref.FindStringSubmatch(m[1])
		if h == nil {
			continue
		}
		href := h[1] + h[2] + h[3]
		text := strings.Join(strings.Fields(html.UnescapeString(htmlTag.ReplaceAllString(m[2], " "))), " ")
		out = append(out, docsLink{text: text, href: html.UnescapeString(href)})
	}
	return out
}

// resolveDocsLink resolves href, found on the site page from (e.g. index.html, runbook/index.html), to
// the file of the site it names, the way a browser and MkDocs' directory URLs do. ok is false for links
// that leave the site (a scheme, or an absolute path).
func resolveDocsLink(from, href string) (string, bool) {
	if i := strings.IndexAny(href, "#?"); i >= 0 {
		href = href[:i]
	}
	if strings.Contains(href, "://") || strings.HasPrefix(href, "/") || strings.HasPrefix(href, "mailto:") {
		return "", false
	}
	dir := path.Dir(from)
	if href == "" {
		return from, true
	}
	p := path.Join(dir, href)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	if p == "." || strings.HasSuffix(href, "/") || !strings.Contains(path.Base(p), ".") {
		p = strings.TrimPrefix(path.Join(p, "index.html"), "./")
	}
	return p, true
}

// followDocsLink finds the link titled title on page (whose HTML is body) of the entity's built site and
// fetches the page it leads to. what names the site in messages.
func (r *runner) followDocsLink(ctx context.Context, er entityRef, what, page, body, title string) (string, string, *CheckResult) {
	links := docsLinks(body)
	var found *docsLink
	for i := range links {
		if strings.EqualFold(links[i].text, title) {
			found = &links[i]
			break
		}
	}
	if found == nil {
		var names []string
		seen := map[string]bool{}
		for _, l := range links {
			if l.text != "" && !seen[l.text] && len(names) < 12 {
				seen[l.text] = true
				names = append(names, show(l.text))
			}
		}
		msg := fmt.Sprintf("The TechDocs page %s of %s has no link titled %s (is it in the nav of mkdocs.yml?); its links: %s.",
			page, what, show(title), strings.Join(names, ", "))
		res := failed(er.String(), msg, "a link "+show(title), strings.Join(names, ", "))
		return "", "", &res
	}
	target, ok := resolveDocsLink(page, found.href)
	if !ok {
		msg := fmt.Sprintf("On the TechDocs page %s of %s, the link %s goes to %s, outside the docs site.", page, what, show(title), found.href)
		res := failed(er.String(), msg, "a page of the site", found.href)
		return "", "", &res
	}
	next, status, err := r.env.API.TechDocsPage(ctx, er.namespace, er.kind, er.name, target)
	if err != nil {
		res := notReady(err)
		return "", "", &res
	}
	if status != 200 {
		msg := fmt.Sprintf("On the TechDocs page %s of %s, the link %s goes to %s, which the site does not have (%d).",
			page, what, show(title), found.href, status)
		if strings.HasSuffix(found.href, ".md") {
			msg += " MkDocs left the link as it was written because no such page exists: a nav entry names a Markdown file relative to docs/, and that file must exist."
		}
		res := failed(er.String(), msg, "a page behind "+show(title), fmt.Sprintf("%s: status %d", found.href, status))
		return "", "", &res
	}
	return target, next, nil
}
