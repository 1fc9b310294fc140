package builtin

import "testing"

func TestValueSink(t *testing.T) {
	runValueCases(t, "value.sink", []valueCase{
		{name: "number", values: map[string]any{"x": 3}, want: nil},
		{name: "list", values: map[string]any{"x": []any{1}}, want: nil},
	})
}
