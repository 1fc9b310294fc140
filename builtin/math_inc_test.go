package builtin

import "testing"

func TestMathInc(t *testing.T) {
	runValueCases(t, "math.inc", []valueCase{
		{name: "int", values: map[string]any{"x": 42}, want: 43},
		{name: "float", values: map[string]any{"x": 1.5}, want: 2.5},
		{name: "negative", values: map[string]any{"x": -1}, want: 0},
		{name: "string", values: map[string]any{"x": "a"}, wantErr: `input "x": want a number, got string "a"`},
		{name: "null", values: map[string]any{"x": nil}, wantErr: "got null"},
	})
}
