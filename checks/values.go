package checks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// splitPath splits a dotted field path. metadata.annotations.<key> and metadata.labels.<key> keep
// the whole rest as one key, because annotation keys contain dots and slashes
// (metadata.annotations.backstage.io/techdocs-ref).
func splitPath(p string) []string {
	segs := strings.Split(p, ".")
	if len(segs) > 3 && segs[0] == "metadata" && (segs[1] == "annotations" || segs[1] == "labels") {
		return []string{segs[0], segs[1], strings.Join(segs[2:], ".")}
	}
	return segs
}

// lookup follows a path through decoded JSON or YAML: map keys, and list indexes for numeric segments.
func lookup(v any, segs []string) (any, bool) {
	for _, s := range segs {
		switch x := normalize(v).(type) {
		case map[string]any:
			next, ok := x[s]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// normalize turns YAML and JSON values into one shape: numbers become float64, maps map[string]any,
// lists []any.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = val
		}
		return m
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return l
	}
	return v
}

// jsonable converts a value decoded from YAML into one encoding/json can marshal (deep).
func jsonable(v any) any {
	switch x := normalize(v).(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = jsonable(val)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = jsonable(val)
		}
		return l
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x) // keep 3 as 3, not 3.0, in request bodies
		}
		return x
	default:
		return x
	}
}

// looseEqual compares an expected value (from lab.yaml) with a found one (from JSON or YAML): numbers by
// value whatever their Go type, strings case-sensitively, lists and maps element by element.
func looseEqual(want, got any) bool {
	want, got = normalize(want), normalize(got)
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !looseEqual(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !looseEqual(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// show renders a value for a message: strings quoted, everything else as compact JSON.
func show(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jsonable(v)); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}

// notSet is how a missing value is shown.
const notSet = "not set"

// showFound renders a looked-up value, or notSet when it is missing.
func showFound(v any, ok bool) string {
	if !ok {
		return notSet
	}
	return show(v)
}

// sortedKeys returns a map's keys in order, so messages are stable.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
