package builtin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestStreamMap(t *testing.T) {
	tests := []struct {
		name   string
		setup  nodetest.Setup
		values map[string]any
		in     []any
		want   []any
	}{
		{"upper", nodetest.Setup{Params: map[string]any{"expr": "upper(chunk)"}}, nil, []any{"hello", "world"}, []any{"HELLO", "WORLD"}},
		{"pass through", nodetest.Setup{}, nil, []any{1, "a", nil}, []any{1, "a", nil}},
		{"index", nodetest.Setup{Params: map[string]any{"expr": "[index, chunk]"}}, nil, []any{"a", "b"}, []any{[]any{0, "a"}, []any{1, "b"}}},
		{"running sum", nodetest.Setup{Params: map[string]any{"expr": "chunk + (prev ?? 0)"}}, nil, []any{1, 2, 3}, []any{1, 3, 6}},
		{"input variable", nodetest.Setup{Variadic: []string{"k"}, Params: map[string]any{"expr": "chunk * k"}}, map[string]any{"k": 3}, []any{1, 2}, []any{3, 6}},
		{"zip add", nodetest.Setup{Params: map[string]any{"expr": "chunk[0] + chunk[1]"}}, nil, []any{[]any{0, 100}, []any{1, 101}}, []any{100, 102}},
	}
	spec := lookup(t, "stream.map")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, tt.setup).Run(t, nodetest.In{Values: tt.values, Streams: chunks("s", tt.in...)})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestStreamMapPipelines checks that each chunk is emitted before the next
// one is read.
func TestStreamMapPipelines(t *testing.T) {
	in := make(chan any)
	emitted := make(chan any, 1)
	done := make(chan *nodetest.Result)
	n := nodetest.New(t, lookup(t, "stream.map"), nodetest.Setup{Params: map[string]any{"expr": "chunk * 10"}})
	go func() {
		done <- n.Run(t, nodetest.In{
			Streams: map[string]*nodetest.Source{"s": nodetest.Chan(in)},
			OnEmit:  func(_ string, c any) { emitted <- c },
		})
	}()
	for i := range 3 {
		in <- i
		if got := <-emitted; got != i*10 {
			t.Errorf("emitted %v, want %v", got, i*10)
		}
	}
	close(in)
	if res := <-done; res.Err != nil || res.Out() != 30 {
		t.Errorf("err = %v, final = %v; want nil, 30", res.Err, res.Out())
	}
}

func TestStreamMapErrors(t *testing.T) {
	wantParamError(t, buildErr(t, "stream.map", nodetest.Setup{Params: map[string]any{"expr": "chunk * kk"}}), "expr", "unknown name kk at column 9")
	err := buildErr(t, "stream.map", nodetest.Setup{Variadic: []string{"prev"}, Params: map[string]any{"expr": "chunk"}})
	if err == nil || !strings.Contains(err.Error(), `input "prev": the name is taken`) {
		t.Errorf("reserved input name: err = %v", err)
	}

	n := nodetest.New(t, lookup(t, "stream.map"), nodetest.Setup{Params: map[string]any{"expr": "chunk + 1"}})
	res := n.Run(t, nodetest.In{Streams: chunks("s", 1, "x", 3)})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "chunk 1: invalid operation: string + int") || !res.Cancelled["s"] {
		t.Errorf("bad chunk: err = %v, input cancelled = %v", res.Err, res.Cancelled["s"])
	}
	res = n.Run(t, nodetest.In{Streams: chunks("s", 1, 2, 3), CancelAfter: 1})
	if !errors.Is(res.Err, registry.ErrCancelled) || !res.Cancelled["s"] {
		t.Errorf("cancelled output: err = %v, input cancelled = %v; want the cancellation to propagate", res.Err, res.Cancelled["s"])
	}
}
