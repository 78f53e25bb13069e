package checks

import "testing"

// The name Backstage 1.55 gave the config location of /fixtures/catalog.yaml (measured).
func TestConfigLocationRef(t *testing.T) {
	if got, want := configLocationRef("/fixtures/catalog.yaml"), "location:default/generated-b0d85e1a462b9664efcd2cf48da8355268435f67"; got != want {
		t.Errorf("configLocationRef = %q, want %q", got, want)
	}
}
