package builtin

import (
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestTextConcat(t *testing.T) {
	tests := []struct {
		name   string
		setup  nodetest.Setup
		values map[string]any
		want   string
	}{
		{"two", nodetest.Setup{Variadic: []string{"a", "b"}}, map[string]any{"a": "Left", "b": "Center"}, "LeftCenter"},
		{"file order", nodetest.Setup{Variadic: []string{"z", "a"}}, map[string]any{"z": "1", "a": "2"}, "12"},
		{"sep and JSON", nodetest.Setup{Variadic: []string{"a", "b", "c"}, Params: map[string]any{"sep": ", "}},
			map[string]any{"a": "x", "b": 3, "c": []any{true}}, "x, 3, [true]"},
		{"constant input", nodetest.Setup{Variadic: []string{"a"}, Params: map[string]any{"b": "!"}},
			map[string]any{"a": "hi"}, "hi!"},
	}
	spec := lookup(t, "text.concat")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, tt.setup).Run(t, nodetest.In{Values: tt.values})
			checkResult(t, res, tt.want, "")
		})
	}
}

func TestTextConcatErrors(t *testing.T) {
	if err := buildErr(t, "text.concat", nodetest.Setup{}); err == nil || !strings.Contains(err.Error(), "at least one input") {
		t.Errorf("no inputs: err = %v", err)
	}
	err := buildErr(t, "text.concat", nodetest.Setup{Variadic: []string{"a"}, Params: map[string]any{"sep": 1}})
	wantParamError(t, err, "sep", "want a string")
}
