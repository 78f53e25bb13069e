package checks

import (
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
)

func TestAllSettled(t *testing.T) {
	doc := map[string]any{"spec": map[string]any{"owner": "team-a", "definition": map[string]any{"$text": "./api.yaml"}}}
	served := func(owner string, status ...string) *backstage.Entity {
		e := &backstage.Entity{Raw: map[string]any{"spec": map[string]any{"owner": owner, "definition": "openapi: 3.0.0"}}}
		if len(status) > 0 {
			e.Status = &backstage.Status{Items: []backstage.StatusItem{{Level: "error", Message: status[0]}}}
		}
		return e
	}
	refs := []string{"component:default/a"}
	docs := map[string]map[string]any{"component:default/a": doc}
	none := func() map[string]bool { return map[string]bool{} }
	rejected := func() map[string]bool { return map[string]bool{"component:default/a": true} }
	for _, tc := range []struct {
		name     string
		served   *backstage.Entity
		rejected func() map[string]bool
		want     bool
	}{
		{"served as written ($text substituted)", served("team-a"), none, true},
		{"still the old version", served("team-b"), none, false},
		{"old version with an error: the edit broke it", served("team-b", "InputError"), none, true},
		{"not served yet", nil, none, false},
		{"never valid: in the unprocessed list", nil, rejected, true},
	} {
		if got := allSettled(refs, docs, []*backstage.Entity{tc.served}, tc.rejected); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
