package builtin

import "testing"

func TestValueConst(t *testing.T) {
	runValueCases(t, "value.const", []valueCase{
		{name: "number", params: map[string]any{"value": 42}, want: 42},
		{name: "list", params: map[string]any{"value": []any{"a", 1}}, want: []any{"a", 1}},
		{name: "null", params: map[string]any{"value": nil}, want: nil},
	})
}
