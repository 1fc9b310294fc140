package schema_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/schema"
)

var update = flag.Bool("update", false, "rewrite flow.schema.json and flowtest.schema.json from the generators")

// TestCommitted fails when flow.schema.json differs from what the built-in
// registry generates.
func TestCommitted(t *testing.T) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatalf("builtin.Register: %v", err)
	}
	got, err := schema.Generate(reg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if *update {
		if err := os.WriteFile("flow.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schema.Committed()) {
		t.Fatalf("schema/flow.schema.json is out of date with the built-in node types; regenerate it with: go test ./schema -update")
	}
}

// TestCommittedTest fails when flowtest.schema.json differs from what
// GenerateTest returns.
func TestCommittedTest(t *testing.T) {
	got, err := schema.GenerateTest()
	if err != nil {
		t.Fatalf("GenerateTest: %v", err)
	}
	if *update {
		if err := os.WriteFile("flowtest.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schema.CommittedTest()) {
		t.Fatalf("schema/flowtest.schema.json is out of date with GenerateTest; regenerate it with: go test ./schema -update")
	}
	if _, err := schema.Compile(got); err != nil {
		t.Fatalf("Compile(GenerateTest()): %v", err)
	}
}

func TestCommittedCompiles(t *testing.T) {
	t.Parallel()
	if _, err := schema.Compile(schema.Committed()); err != nil {
		t.Fatalf("Compile(Committed()): %v", err)
	}
}

func TestCommittedIsACopy(t *testing.T) {
	t.Parallel()
	a := schema.Committed()
	a[0] = 'x'
	if schema.Committed()[0] == 'x' {
		t.Fatal("Committed returned the embedded bytes, not a copy")
	}
}

func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New()
	newNode := func(registry.Config, registry.Env) (registry.Node, error) { return nil, nil }
	reg.MustRegister(registry.Spec{
		Type:    "math.inc",
		Doc:     "Adds one.",
		Inputs:  []registry.Input{{Name: "x", Type: registry.Number, Doc: "The number."}},
		Outputs: []registry.Output{{Name: "out"}},
		New:     newNode,
	})
	reg.MustRegister(registry.Spec{
		Type: "text.fmt",
		Doc:  "Formats text.",
		Inputs: []registry.Input{
			{Name: "mode", Type: registry.String, Const: true, Enum: []any{"a", "b"}, HasDefault: true, Default: "a"},
		},
		Variadic: &registry.Input{Type: registry.String},
		Outputs:  []registry.Output{{Name: "out"}},
		New:      newNode,
	})
	return reg
}

func TestGenerateValidates(t *testing.T) {
	t.Parallel()
	doc, err := schema.Generate(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	again, err := schema.Generate(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, again) {
		t.Fatal("Generate is not deterministic")
	}
	sch, err := schema.Compile(doc)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	tests := []struct {
		name string
		flow any
		ok   bool
	}{
		{"valid", map[string]any{"version": 1, "nodes": map[string]any{
			"a": map[string]any{"type": "math.inc", "inputs": map[string]any{"x": "b.out"}, "defaults": map[string]any{"x": 0}},
			"b": map[string]any{"type": "text.fmt", "with": map[string]any{"mode": "b", "anything": "s"}},
			"c": map[string]any{"type": "sub/flow.yaml", "with": map[string]any{"whatever": 1}},
		}}, true},
		{"unknown input", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "math.inc", "inputs": map[string]any{"y": "b"}},
		}}, false},
		{"wrong constant type", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "math.inc", "with": map[string]any{"x": "one"}},
		}}, false},
		{"parameter connected", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "text.fmt", "inputs": map[string]any{"mode": "b"}},
		}}, false},
		{"parameter from subflow input", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "text.fmt", "inputs": map[string]any{"mode": "$m"}},
		}}, true},
		{"enum", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "text.fmt", "with": map[string]any{"mode": "c"}},
		}}, false},
		{"unknown type", map[string]any{"nodes": map[string]any{
			"a": map[string]any{"type": "math.nope"},
		}}, false},
		{"bad id", map[string]any{"nodes": map[string]any{
			"a.b": map[string]any{"type": "math.inc"},
		}}, false},
		{"missing nodes", map[string]any{"version": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := sch.Validate(tt.flow)
			if got := err == nil; got != tt.ok {
				t.Errorf("Validate: got ok=%v (%v), want ok=%v", got, err, tt.ok)
			}
		})
	}
}

func TestCompileRejectsExternalRefs(t *testing.T) {
	t.Parallel()
	_, err := schema.Compile([]byte(`{"$ref": "https://example.com/x.json"}`))
	if err == nil {
		t.Fatal("Compile loaded an external document")
	}
}

// TestDescriptionsReadAsWritten checks that a default is shown as a person
// writes it: JSON, but without the \u003e of HTML-safe JSON.
func TestDescriptionsReadAsWritten(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	reg.MustRegister(registry.Spec{
		Type:    "term.ask",
		Doc:     "Asks.",
		Inputs:  []registry.Input{{Name: "prompt", Type: registry.String, Const: true, HasDefault: true, Default: "a<b> & c"}},
		Outputs: []registry.Output{{Name: "out"}},
		New:     func(registry.Config, registry.Env) (registry.Node, error) { return nil, nil },
	})
	doc, err := schema.Generate(reg)
	if err != nil {
		t.Fatal(err)
	}
	if want := `Default: \"a<b> & c\".`; !bytes.Contains(doc, []byte(want)) {
		t.Errorf("the schema does not describe the default as %s:\n%s", want, doc)
	}
	if bytes.Contains(doc, []byte(`\u003c`)) || bytes.Contains(doc, []byte(`\u0026`)) {
		t.Errorf("the schema escapes < or & for HTML:\n%s", doc)
	}
}
