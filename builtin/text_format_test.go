package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestTextFormat(t *testing.T) {
	tests := []struct {
		name     string
		template string
		values   map[string]any
		want     string
	}{
		{"placeholders", "{name} has {n} messages", map[string]any{"name": "Ann", "n": 3}, "Ann has 3 messages"},
		{"repeated", "{name}{name}", map[string]any{"name": "ab", "n": 0}, "abab"},
		{"braces", "{{{name}}} {{}}", map[string]any{"name": "x", "n": 0}, "{x} {}"},
		{"JSON values", "{name} {n}", map[string]any{"name": map[string]any{"a": nil}, "n": 1.5}, `{"a":null} 1.5`},
		{"no placeholders", "plain", map[string]any{"name": "x", "n": 0}, "plain"},
	}
	spec := lookup(t, "text.format")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Variadic: []string{"name", "n"}, Params: map[string]any{"template": tt.template}})
			checkResult(t, n.Run(t, nodetest.In{Values: tt.values}), tt.want, "")
		})
	}
}

func TestTextFormatCheck(t *testing.T) {
	tests := []struct {
		template string
		want     string
	}{
		{"hi {nam}", "placeholder {nam} at column 4 names no input: the node's inputs are name"},
		{"hi {name", "unclosed { at column 4"},
		{"hi }", "unmatched } at column 4"},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			err := buildErr(t, "text.format", nodetest.Setup{Variadic: []string{"name"}, Params: map[string]any{"template": tt.template}})
			wantParamError(t, err, "template", tt.want)
		})
	}
	err := buildErr(t, "text.format", nodetest.Setup{Params: map[string]any{"template": "{x}"}})
	wantParamError(t, err, "template", "the node has no inputs")
	err = buildErr(t, "text.format", nodetest.Setup{Params: map[string]any{"template": 3}})
	wantParamError(t, err, "template", "want a string")
}
