package builtin

import (
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// TestEffects pins the effects of the built-in types that have any: every
// other type must have none.
func TestEffects(t *testing.T) {
	want := map[string][]registry.Effect{
		"exec":         {registry.Exec},
		"file.read":    {registry.Read},
		"file.write":   {registry.Write},
		"http.request": {registry.Net},
		"llm.chat":     {registry.Net},
		"term.input":   {registry.Terminal},
		"term.chat":    {registry.Terminal},
		"web.input":    {registry.Net},
		"web.output":   {registry.Net},
	}
	for _, s := range specs() {
		if got := s.Effects; !slices.Equal(got, want[s.Type]) {
			t.Errorf("%s: effects %v, want %v", s.Type, got, want[s.Type])
		}
	}
}

func TestRegisterDeny(t *testing.T) {
	reg := registry.New()
	if err := Register(reg, Deny("exec", "write")); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"exec", "file.write"} {
		if _, ok := reg.Lookup(typ); ok {
			t.Errorf("%s registered", typ)
		}
		if reason, ok := reg.Refused(typ); !ok || !strings.Contains(reason, "which is denied") {
			t.Errorf("Refused(%s) = %q, %v", typ, reason, ok)
		}
	}
	for _, typ := range []string{"file.read", "http.request", "math.inc"} {
		if _, ok := reg.Lookup(typ); !ok {
			t.Errorf("%s not registered", typ)
		}
	}

	reg = registry.New()
	if err := Register(reg, Allow()); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs() {
		_, ok := reg.Lookup(s.Type)
		if ok != (len(s.Effects) == 0) {
			t.Errorf("Allow(): %s registered %v, effects %v", s.Type, ok, s.Effects)
		}
	}
}
