package builtin

import (
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestRegister(t *testing.T) {
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatalf("Register on a fresh registry: %v", err)
	}
	if got, want := len(reg.Types()), len(specs()); got != want {
		t.Errorf("%d types registered, want %d", got, want)
	}
	err := Register(reg)
	if err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second Register: err = %v, want a duplicate error", err)
	}
}

func TestDocumented(t *testing.T) {
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	nodetest.CheckDocs(t, reg)
}

// TestFamilies checks that every type belongs to a known family (the first
// word of its name), as the package documentation lists them.
func TestFamilies(t *testing.T) {
	families := []string{"value", "math", "logic", "text", "stream", "state", "control", "expr", "exec", "http", "file", "json", "term", "chat", "llm", "web"}
	for _, s := range specs() {
		family, _, _ := strings.Cut(s.Type, ".")
		if !slices.Contains(families, family) {
			t.Errorf("type %q: unknown family %q", s.Type, family)
		}
	}
}
