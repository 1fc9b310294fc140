package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStateAccumulator(t *testing.T) {
	tests := []struct {
		name    string
		xs      []any
		want    any
		wantErr string
	}{
		{name: "numbers", xs: []any{2.5, 1, 1}, want: 4.5},
		{name: "strings", xs: []any{"a", "b"}, want: "ab"},
		{name: "lists", xs: []any{[]any{1}, []any{2}}, want: []any{1, 2}},
		{name: "single", xs: []any{map[string]any{"a": 1}}, want: map[string]any{"a": 1}},
		{name: "mixed", xs: []any{1, "a"}, wantErr: `cannot add number 1 and string "a"`},
	}
	spec := lookup(t, "state.accumulator")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{})
			var res *nodetest.Result
			for _, x := range tt.xs {
				res = n.Run(t, nodetest.In{Values: map[string]any{"x": x}})
			}
			checkResult(t, res, tt.want, tt.wantErr)
		})
	}
}
