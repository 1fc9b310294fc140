package builtin

import "testing"

func TestValueIdentity(t *testing.T) {
	runValueCases(t, "value.identity", []valueCase{
		{name: "number", values: map[string]any{"x": 42}, want: 42},
		{name: "object", values: map[string]any{"x": map[string]any{"a": []any{1}}}, want: map[string]any{"a": []any{1}}},
		{name: "null", values: map[string]any{"x": nil}, want: nil},
	})
}
