package backstage

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestTechDocsBuildErrorCarriesMkDocsErrors(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET /api/techdocs/sync/default/component/broken": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "event: log\ndata: \"\\u001b[34mDEBUG    -  \\u001b[0mLoading configuration\"\n\n"+
				"event: log\ndata: \"ERROR    -  Config value 'site_name': Required configuration not provided.\"\n\n"+
				"event: log\ndata: \"Aborted with 1 configuration errors!\"\n\n"+
				"event: error\ndata: \"Failed to generate docs; caused by Error: Command mkdocs failed, exit code: 1\"\n\n")
		},
	})
	err := c.TechDocsSync(t.Context(), "default", "component", "broken")
	var be *BuildError
	want := "Failed to generate docs; caused by Error: Command mkdocs failed, exit code: 1. MkDocs said: " +
		"ERROR - Config value 'site_name': Required configuration not provided. / Aborted with 1 configuration errors!"
	if !errors.As(err, &be) || be.Message != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}
