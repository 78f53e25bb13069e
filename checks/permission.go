package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// checkPermission: the permission backend gives the user the expected decision.
func (r *runner) checkPermission(ctx context.Context, c labs.Check) CheckResult {
	user := normRef(c.User)
	where := user
	if r.env.UserToken == nil {
		return CheckResult{Verdict: NotReady, Message: "This environment cannot sign in as a user, which permission checks need. Run lab status; the lab may need lab start again."}
	}
	token, err := r.env.UserToken(ctx, user)
	if errors.Is(err, backstage.ErrNotFound) {
		return failed(where, fmt.Sprintf("Could not sign in as %s: that user is not in the catalog.", user), "user "+user, "no such user")
	}
	if err != nil {
		return notReady(fmt.Errorf("sign in as %s: %w", user, err))
	}
	perm := backstage.Permission{Type: "basic", Name: c.Permission, Attributes: map[string]string{}}
	if action := actionOf(c.Permission); action != "" {
		perm.Attributes["action"] = action
	}
	item := backstage.AuthorizeItem{Permission: perm}
	if c.Resource != "" {
		item.Permission.Type = "resource"
		item.Permission.ResourceType = "catalog-entity"
		item.ResourceRef = normRef(c.Resource)
	}
	results, err := r.env.API.Authorize(ctx, token, item)
	if err != nil {
		return notReady(err)
	}
	got := strings.ToUpper(results[0].Result)
	want := strings.ToUpper(c.Decision)
	if got == want {
		return passed(where)
	}
	on := ""
	if c.Resource != "" {
		on = " on " + normRef(c.Resource)
	}
	msg := fmt.Sprintf("Backstage answers %s when %s asks for %s%s; expected %s.", got, user, c.Permission, on, want)
	return failed(where, msg, want, got)
}

// actionOf derives a permission's action attribute from its name: catalog.entity.delete → delete.
func actionOf(name string) string {
	i := strings.LastIndex(name, ".")
	switch a := name[i+1:]; a {
	case "read", "create", "update", "delete":
		return a
	}
	return ""
}
