package builtin

import "testing"

func TestMathNeg(t *testing.T) {
	runValueCases(t, "math.neg", []valueCase{
		{name: "int", values: map[string]any{"x": 3}, want: -3},
		{name: "float", values: map[string]any{"x": -1.5}, want: 1.5},
		{name: "list", values: map[string]any{"x": []any{}}, wantErr: "want a number, got list of 0"},
	})
}
