package registry_test

import (
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// copySpec returns a fresh declaration with slices, an enum and composite
// defaults, each call building new ones.
func copySpec() registry.Spec {
	return registry.Spec{
		Type:    "demo.node",
		Effects: []registry.Effect{registry.Exec},
		Inputs: []registry.Input{
			{Name: "mode", Type: registry.String, Const: true, Default: "a", HasDefault: true, Enum: []any{"a", "b"}},
			{Name: "list", Type: registry.Array, Default: []any{1.0, map[string]any{"k": "v"}}, HasDefault: true},
		},
		Variadic: &registry.Input{Name: "rest", Type: registry.Object, Default: map[string]any{"x": 1.0}, HasDefault: true},
		Outputs:  []registry.Output{{Name: "out", Type: registry.String}},
		New:      func(registry.Config, registry.Env) (registry.Node, error) { return nil, nil },
	}
}

// mutate changes everything reachable from s.
func mutate(s *registry.Spec) {
	s.Doc = "changed"
	s.Effects[0] = registry.Net
	s.Inputs[0].Name = "changed"
	s.Inputs[0].Enum[1] = "z"
	s.Inputs[1].Default.([]any)[0] = 9.0
	s.Inputs[1].Default.([]any)[1].(map[string]any)["k"] = "changed"
	s.Variadic.Name = "changed"
	s.Variadic.Default.(map[string]any)["x"] = 9.0
	s.Outputs[0].Name = "changed"
}

// sameDecl compares declarations, leaving out the functions (which
// reflect.DeepEqual never finds equal).
func sameDecl(a, b *registry.Spec) bool {
	a2, b2 := *a, *b
	a2.New, b2.New = nil, nil
	return reflect.DeepEqual(&a2, &b2)
}

func TestLookupReturnsACopy(t *testing.T) {
	r := registry.New()
	r.MustRegister(copySpec())
	got, _ := r.Lookup("demo.node")
	mutate(got)
	again, ok := r.Lookup("demo.node")
	want := copySpec()
	if !ok || !sameDecl(again, &want) {
		t.Errorf("after changing what Lookup returned, Lookup = %+v, want %+v", again, want)
	}
}

func TestRegisterKeepsACopy(t *testing.T) {
	r := registry.New()
	s := copySpec()
	r.MustRegister(s)
	mutate(&s)
	got, _ := r.Lookup("demo.node")
	want := copySpec()
	if !sameDecl(got, &want) {
		t.Errorf("after changing the slices passed to Register, Lookup = %+v, want %+v", got, want)
	}
}
