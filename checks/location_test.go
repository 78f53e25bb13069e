package checks

import (
	"strings"
	"testing"

	"github.com/backstage-lab/lab/checks/backstage"
)

// unprocessedLocation is what the unprocessed-entities module lists for a static location whose file has
// never been readable: entity_ref null, the Location entity as read, and the error (measured live).
func unprocessedLocation(t *testing.T, file string, errs ...backstage.ProcessingError) backstage.UnprocessedEntity {
	t.Helper()
	return backstage.UnprocessedEntity{
		LocationKey:       "file:/workspace/" + file,
		UnprocessedEntity: location(t, file),
		Errors:            errs,
	}
}

func TestRunRejectedLocation(t *testing.T) {
	yamlErr := backstage.ProcessingError{Name: "Error", Message: "YAML error at file:/workspace/catalog/orders.yaml, " +
		"YAMLParseError: All mapping items must start at the same column at line 5, column 1"}

	t.Run("counts as loaded and explains a missing entity", func(t *testing.T) {
		f := newFake()
		f.unprocessed = map[string][]backstage.UnprocessedEntity{"pending": {unprocessedLocation(t, "catalog/orders.yaml", yamlErr)}}
		rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Fail {
			t.Fatalf("verdict = %s (%s), want fail", rep.Verdict, rep.NotReady)
		}
		assertResult(t, rep.Tasks[0].Checks[0], Fail, "catalog/orders.yaml",
			"component:default/orders is not in the catalog",
			"Backstage could not read this file: catalog/orders.yaml: YAML error at catalog/orders.yaml, YAMLParseError: All mapping items")
	})

	t.Run("entity-valid reports it", func(t *testing.T) {
		f := newFake(ordersEntity(t))
		f.unprocessed = map[string][]backstage.UnprocessedEntity{"failed": {unprocessedLocation(t, "catalog/orders.yaml", yamlErr)}}
		valid := existsCheck
		valid.Type = "entity-valid"
		rep, err := Run(t.Context(), Env{API: f}, testLab(valid), Options{})
		if err != nil {
			t.Fatal(err)
		}
		assertResult(t, rep.Tasks[0].Checks[0], Fail, "", "Backstage could not read catalog/orders.yaml, where component:default/orders comes from: YAML error")
	})

	t.Run("without an error it is still loading", func(t *testing.T) {
		f := newFake()
		f.unprocessed = map[string][]backstage.UnprocessedEntity{"pending": {unprocessedLocation(t, "catalog/orders.yaml")}}
		rep, err := Run(t.Context(), Env{API: f}, testLab(existsCheck), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != NotReady || !strings.Contains(rep.NotReady, "catalog location(s) catalog/orders.yaml") {
			t.Fatalf("report = %+v", rep)
		}
	})
}
