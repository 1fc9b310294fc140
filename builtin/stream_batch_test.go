package builtin

import (
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamBatch(t *testing.T) {
	tests := []struct {
		name string
		size any
		in   []any
		want []any
	}{
		{"pairs", 2, []any{0, 1, 2, 3}, []any{[]any{0, 1}, []any{2, 3}}},
		{"remainder", 2, []any{0, 1, 2}, []any{[]any{0, 1}, []any{2}}},
		{"size 1", 1, []any{"a"}, []any{[]any{"a"}}},
		{"empty", 3, nil, nil},
	}
	spec := lookup(t, "stream.batch")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{Values: map[string]any{"size": tt.size}, Streams: chunks("s", tt.in...)})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks = %v, want %v", got, tt.want)
			}
			if tt.want != nil && !reflect.DeepEqual(res.Out(), tt.want) {
				t.Errorf("final = %v, want %v", res.Out(), tt.want)
			}
		})
	}
}

func TestStreamBatchErrors(t *testing.T) {
	n := nodetest.New(t, lookup(t, "stream.batch"), nodetest.Setup{})
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"size": 0}, Streams: chunks("s", 1)}), nil, `input "size": want an integer 1 or more, got number 0`)
	res := n.Run(t, nodetest.In{Streams: chunks("s", 1, 2, 3, 4), CancelAfter: 1})
	if res.Err == nil || !res.Cancelled["s"] {
		t.Errorf("cancelled run: err = %v, input cancelled = %v", res.Err, res.Cancelled["s"])
	}
}
