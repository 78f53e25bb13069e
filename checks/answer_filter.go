package checks

import (
	"fmt"
	"strings"
)

// itemFilter parses a path segment *[key=value]: every item of a list whose field key (a plain field name)
// equals value, case-insensitively (e.g. relations.*[type=ownedBy].targetRef).
func itemFilter(seg string) (key, value string, ok bool) {
	inner, found := strings.CutPrefix(seg, "*[")
	if !found || !strings.HasSuffix(inner, "]") {
		return "", "", false
	}
	key, value, ok = strings.Cut(strings.TrimSuffix(inner, "]"), "=")
	return key, value, ok && key != ""
}

// collectWhere collects the rest of a path from the items of the list v whose field key equals want.
func collectWhere(v any, key, want string, rest []string) []any {
	items, _ := normalize(v).([]any)
	var out []any
	for _, it := range items {
		got, ok := lookup(it, []string{key})
		if ok && strings.EqualFold(fmt.Sprint(got), want) {
			out = append(out, collect(it, rest)...)
		}
	}
	return out
}
