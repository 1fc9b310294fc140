package builtin

import "testing"

func TestMathSub(t *testing.T) {
	runValueCases(t, "math.sub", []valueCase{
		{name: "ints", values: map[string]any{"a": 5, "b": 7}, want: -2},
		{name: "floats", values: map[string]any{"a": 1.5, "b": 0.5}, want: 1.0},
		{name: "string", values: map[string]any{"a": 1, "b": "x"}, wantErr: `input "b": want a number`},
	})
}
