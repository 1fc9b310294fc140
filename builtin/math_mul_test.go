package builtin

import "testing"

func TestMathMul(t *testing.T) {
	runValueCases(t, "math.mul", []valueCase{
		{name: "double by default", values: map[string]any{"x": 21}, want: 42},
		{name: "factor", values: map[string]any{"x": 3, "by": 0.5}, want: 1.5},
		{name: "zero", values: map[string]any{"x": 0, "by": 9}, want: 0},
		{name: "overflow turns float", values: map[string]any{"x": 1 << 62, "by": 4}, want: float64(1<<62) * 4},
		{name: "string", values: map[string]any{"x": "ab"}, wantErr: `input "x": want a number, got string "ab"`},
	})
}
