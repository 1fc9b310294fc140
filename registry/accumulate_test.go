package registry

import (
	"reflect"
	"testing"
)

func TestAccumulator(t *testing.T) {
	tests := []struct {
		name   string
		chunks []any
		want   any
	}{
		{"none", nil, nil},
		{"strings", []any{"ab", "cd", "e"}, "abcde"},
		{"ints", []any{1, 2, 3}, 6},
		{"floats", []any{1.5, 2.5}, 4.0},
		{"int and float", []any{1, 2.5}, 3.5},
		{"lists", []any{[]any{1}, []any{2}}, []any{1, 2}},
		{"three lists", []any{[]any{1}, []any{2}, []any{3}}, []any{1, 2, 3}},
		{"objects", []any{map[string]any{"a": 1}, map[string]any{"b": 2}}, []any{map[string]any{"a": 1}, map[string]any{"b": 2}}},
		{"single", []any{"only"}, "only"},
		{"bools", []any{true, true}, []any{true, true}},
		{"nulls", []any{nil, nil}, []any{nil, nil}},
		{"string then number", []any{"a", "b", 1}, []any{"ab", 1}},
		{"list then string", []any{[]any{1}, "x"}, []any{[]any{1}, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Accumulator
			for _, c := range tt.chunks {
				a.Add(c)
			}
			if got := a.Value(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Value() = %#v, want %#v", got, tt.want)
			}
			if a.Len() != len(tt.chunks) {
				t.Errorf("Len() = %d, want %d", a.Len(), len(tt.chunks))
			}
		})
	}
}
