package checks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/backstage-lab/lab/labs"
)

func TestCollectWhere(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"relations":[
		{"type":"ownedBy","targetRef":"group:default/team-payments"},
		{"type":"partOf","targetRef":"system:default/payments"},
		{"type":"dependsOn","targetRef":"resource:default/payments-db"},
		{"type":"dependsOn","targetRef":"component:default/fraud-rules"}]}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want []any
	}{
		{"relations.*[type=ownedBy].targetRef", []any{"group:default/team-payments"}},
		{"relations.*[type=OWNEDBY].targetRef", []any{"group:default/team-payments"}},
		{"relations.*[type=dependsOn].targetRef", []any{"resource:default/payments-db", "component:default/fraud-rules"}},
		{"relations.*[type=providesApi].targetRef", nil},
		{"relations.*[targetRef=system:default/payments].type", []any{"partOf"}},
		{"missing.*[type=x].y", nil},
	}
	for _, tc := range tests {
		if got := collect(doc, splitPath(tc.path)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("collect(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// An answer computed from one live value: the check says where to look, never the value itself.
func TestAnswerFromOneLiveValue(t *testing.T) {
	f := newFake()
	f.do = func(_, path string, _ any) (int, []byte, error) {
		return 200, []byte(`{"relations":[{"type":"ownedBy","targetRef":"group:default/team-payments"},{"type":"partOf","targetRef":"system:default/payments"}]}`), nil
	}
	check := labs.Check{Type: "answer", File: "answers.yaml", Path: "owner", URL: "/api/catalog/entities/by-name/component/default/payments-api", Among: "relations.*[type=ownedBy].targetRef"}
	tests := []struct {
		answer  string
		verdict Verdict
		msg     string
	}{
		{"group:default/team-payments", Pass, ""},
		{"system:default/payments", Fail, `owner is "system:default/payments", but that is not what Backstage says at GET /api/catalog/entities/by-name/component/default/payments-api (relations.*[type=ownedBy].targetRef).`},
		{"Group:default/team-payments", Fail, "Mind the case."},
	}
	for _, tc := range tests {
		got, _ := runCheck(t, f, writeFiles(t, map[string]string{"answers.yaml": "owner: " + tc.answer + "\n"}), check)
		assertResult(t, got, tc.verdict, "", tc.msg)
		if !strings.Contains(tc.answer, "team-payments") && strings.Contains(got.Message, "team-payments") {
			t.Errorf("message gives the answer away: %s", got.Message)
		}
	}
}
