package checks

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

func sampleReport() *Report {
	return &Report{
		Lab: "catalog-relations", Verdict: Fail, Passed: 1, Total: 2, DurationMS: 1234,
		Problems: []string{"catalog/orders.yaml:6: did not find expected key"},
		Tasks: []TaskResult{
			{ID: "add-owner", Title: "Give the service an owner", Verdict: Pass, Checks: []CheckResult{
				{Name: "component:default/orders ownedBy group:default/team-a", Type: "relation", Verdict: Pass, Where: "catalog/orders.yaml:10 (component:default/orders)"},
			}},
			{ID: "add-dependency", Title: "Declare the database <dependency>", Verdict: Fail, Checks: []CheckResult{
				{
					Name: "component:default/orders dependsOn resource:default/orders-db", Type: "relation", Verdict: Fail, Line: 42,
					Message:  "component:default/orders has no relation dependsOn resource:default/orders-db. The relation points the other way.",
					Expected: "component:default/orders dependsOn resource:default/orders-db",
					Found:    "dependencyOf resource:default/orders-db",
					Where:    "catalog/orders.yaml:1 (component:default/orders)",
				},
			}},
		},
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleReport(), false); err != nil {
		t.Fatal(err)
	}
	want := `Problems in your workspace files:
  catalog/orders.yaml:6: did not find expected key

✓ add-owner       Give the service an owner
✗ add-dependency  Declare the database <dependency>
    ✗ component:default/orders dependsOn resource:default/orders-db
      component:default/orders has no relation dependsOn resource:default/orders-db. The relation points the other way.
      expected: component:default/orders dependsOn resource:default/orders-db
      found:    dependencyOf resource:default/orders-db
      where:    catalog/orders.yaml:1 (component:default/orders)

1/2 tasks passed
`
	if buf.String() != want {
		t.Errorf("text report:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := WriteText(&buf, sampleReport(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), colorGreen+"✓ add-owner") || !strings.Contains(buf.String(), colorRed+"1/2 tasks passed"+colorReset) {
		t.Errorf("coloured report lacks colours:\n%q", buf.String())
	}
}

func TestWriteTextNotReady(t *testing.T) {
	r := &Report{Lab: "x", Verdict: NotReady, Total: 1, NotReady: "Backstage is not ready. Run lab status.",
		Tasks: []TaskResult{{ID: "a", Title: "A", Verdict: NotReady, Checks: []CheckResult{}}}}
	var buf bytes.Buffer
	if err := WriteText(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	want := "! Environment not ready: Backstage is not ready. Run lab status.\n0/1 tasks passed (environment not ready)\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`"lab": "catalog-relations"`, `"verdict": "fail"`, `"passed": 1`, `"total": 2`, `"durationMs": 1234`,
		`"problems": [`, `"title": "Declare the database <dependency>"`, `"expected": "component:default/orders dependsOn resource:default/orders-db"`,
		`"line": 42`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"notReady"`) {
		t.Error("notReady should be omitted when empty")
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Tasks[1].Checks[0].Found != "dependencyOf resource:default/orders-db" {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestWriteJUnit(t *testing.T) {
	r := sampleReport()
	r.Tasks = append(r.Tasks, TaskResult{ID: "docs", Title: "Docs", Verdict: NotReady, Checks: []CheckResult{
		{Name: "TechDocs", Type: "techdocs", Verdict: NotReady, Message: "Backstage did not answer within 10s."},
	}})
	r.Total = 3
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			SystemOut string `xml:"system-out"`
			Cases     []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 1 {
		t.Fatalf("counts: %+v", doc)
	}
	s := doc.Suites[0]
	if s.Name != "catalog-relations" || s.Time != "1.234" || !strings.Contains(s.SystemOut, "catalog/orders.yaml:6") {
		t.Errorf("suite: %+v", s)
	}
	if len(s.Cases) != 3 || s.Cases[0].Failure != nil || s.Cases[1].Name != "add-dependency: Declare the database <dependency>" {
		t.Fatalf("cases: %+v", s.Cases)
	}
	f := s.Cases[1].Failure
	if f == nil || !strings.HasPrefix(f.Message, "component:default/orders has no relation") ||
		!strings.Contains(f.Text, "found: dependencyOf resource:default/orders-db") {
		t.Errorf("failure: %+v", f)
	}
	if s.Cases[2].Error == nil || s.Cases[2].Error.Message != "Backstage did not answer within 10s." {
		t.Errorf("error: %+v", s.Cases[2].Error)
	}
}

func TestExitCodes(t *testing.T) {
	for v, want := range map[Verdict]int{Pass: 0, Fail: 3, NotReady: 4, "": 1} {
		if got := (&Report{Verdict: v}).ExitCode(); got != want {
			t.Errorf("ExitCode(%q) = %d, want %d", v, got, want)
		}
	}
}
