package builtin

import (
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamTake(t *testing.T) {
	tests := []struct {
		name          string
		n             any
		cancel        bool
		in            []any
		want          []any
		wantRead      int
		wantCancelled bool
	}{
		{"take 1 and cancel", 1, true, []any{0, 1, 2}, []any{0}, 1, true},
		{"take 3 and cancel", 3.0, true, []any{0, 1, 2, 3, 4}, []any{0, 1, 2}, 3, true},
		{"take 2 and drain", 2, false, []any{0, 1, 2, 3}, []any{0, 1}, 4, false},
		{"short stream", 5, true, []any{"a"}, []any{"a"}, 1, false},
		{"none", 0, true, []any{1}, []any{}, 0, true},
	}
	spec := lookup(t, "stream.take")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			node := nodetest.New(t, spec, nodetest.Setup{Params: map[string]any{"cancel": tt.cancel}})
			res := node.Run(t, nodetest.In{Values: map[string]any{"n": tt.n}, Streams: chunks("s", tt.in...)})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Out(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("out = %v, want %v", got, tt.want)
			}
			if res.Read["s"] != tt.wantRead || res.Cancelled["s"] != tt.wantCancelled {
				t.Errorf("read %d, cancelled %v; want %d, %v", res.Read["s"], res.Cancelled["s"], tt.wantRead, tt.wantCancelled)
			}
		})
	}
}

func TestStreamTakeErrors(t *testing.T) {
	node := nodetest.New(t, lookup(t, "stream.take"), nodetest.Setup{})
	for _, n := range []any{-1, 1.5, "2"} {
		res := node.Run(t, nodetest.In{Values: map[string]any{"n": n}, Streams: chunks("s", 1)})
		checkResult(t, res, nil, `input "n": want an integer 0 or more`)
	}
	wantParamError(t, buildErr(t, "stream.take", nodetest.Setup{Params: map[string]any{"cancel": "no"}}), "cancel", "want a boolean")
}
