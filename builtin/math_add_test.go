package builtin

import (
	"math"
	"testing"
)

func TestMathAdd(t *testing.T) {
	runValueCases(t, "math.add", []valueCase{
		{name: "ints", values: map[string]any{"a": 1, "b": 2}, want: 3},
		{name: "int and float", values: map[string]any{"a": 1, "b": 0.5}, want: 1.5},
		{name: "b defaults to 0", values: map[string]any{"a": 5}, want: 5},
		{name: "constant b", params: map[string]any{"b": 3}, values: map[string]any{"a": 5}, want: 8},
		{name: "strings", values: map[string]any{"a": "Left", "b": "Center"}, want: "LeftCenter"},
		{name: "lists", values: map[string]any{"a": []any{1}, "b": []any{2, 3}}, want: []any{1, 2, 3}},
		{name: "overflow turns float", values: map[string]any{"a": math.MaxInt, "b": 1}, want: float64(math.MaxInt) + 1},
		{name: "string and number", values: map[string]any{"a": "a", "b": 1}, wantErr: `cannot add string "a" and number 1`},
		{name: "booleans", values: map[string]any{"a": true, "b": true}, wantErr: "cannot add boolean true"},
	})
}
