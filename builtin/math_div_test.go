package builtin

import "testing"

func TestMathDiv(t *testing.T) {
	runValueCases(t, "math.div", []valueCase{
		{name: "exact ints", values: map[string]any{"a": 6, "b": 3}, want: 2},
		{name: "inexact ints", values: map[string]any{"a": 7, "b": 2}, want: 3.5},
		{name: "floats", values: map[string]any{"a": 1.0, "b": 4.0}, want: 0.25},
		{name: "by zero", values: map[string]any{"a": 1, "b": 0}, wantErr: "division by zero"},
		{name: "by float zero", values: map[string]any{"a": 1, "b": 0.0}, wantErr: "division by zero"},
		{name: "null", values: map[string]any{"a": nil, "b": 1}, wantErr: `input "a": want a number, got null`},
	})
}
