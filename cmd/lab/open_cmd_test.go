package main

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestUIPath(t *testing.T) {
	for _, tc := range []struct{ arg, want, err string }{
		{arg: "", want: "/catalog"},
		{arg: "component:default/payments-api", want: "/catalog/default/component/payments-api"},
		{arg: "Component:payments-api", want: "/catalog/default/component/payments-api"},
		{arg: "group:team-payments", want: "/catalog/default/group/team-payments"},
		{arg: "/catalog-graph", want: "/catalog-graph"},
		{arg: "docs", want: "/docs"},
		{arg: "http://127.0.0.1:7007/catalog", err: "not a URL"},
		{arg: "component:", err: "not an entity ref"},
	} {
		got, err := uiPath(tc.arg)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("uiPath(%q) error = %v, want one containing %q", tc.arg, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("uiPath(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
}

func TestOpenBrowserWithoutBrowser(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if runtime.GOOS == "linux" {
		if err := openBrowser(t.Context(), getenv, "http://127.0.0.1:1/catalog"); !errors.Is(err, errNoBrowser) {
			t.Errorf("openBrowser without a display = %v, want errNoBrowser", err)
		}
	}
	env["BROWSER"] = "lab-test-no-such-browser"
	if err := openBrowser(t.Context(), getenv, "http://127.0.0.1:1/catalog"); !errors.Is(err, errNoBrowser) {
		t.Errorf("openBrowser with a missing $BROWSER = %v, want errNoBrowser", err)
	}
}
