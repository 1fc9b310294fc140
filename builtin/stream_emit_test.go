package builtin

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestStreamEmit(t *testing.T) {
	tests := []struct {
		name       string
		params     map[string]any
		items      any
		wantChunks []any
		wantFinal  any
	}{
		{"words", nil, []any{"hello", " ", "world"}, []any{"hello", " ", "world"}, "hello world"},
		{"numbers", nil, []any{1, 2, 3}, []any{1, 2, 3}, 6},
		{"explicit final", map[string]any{"final": "numbers done."}, []any{0, 1}, []any{0, 1}, "numbers done."},
		{"lists accumulate", nil, []any{[]any{1}, []any{2}}, []any{[]any{1}, []any{2}}, []any{1, 2}},
		{"empty", nil, []any{}, nil, nil},
		{"null items", nil, nil, nil, nil},
	}
	spec := lookup(t, "stream.emit")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, nodetest.Setup{Params: tt.params}).Run(t, nodetest.In{Values: map[string]any{"items": tt.items}})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.wantChunks) {
				t.Errorf("chunks = %#v, want %#v", got, tt.wantChunks)
			}
			if got := res.Out(); !reflect.DeepEqual(got, tt.wantFinal) {
				t.Errorf("final = %#v, want %#v", got, tt.wantFinal)
			}
		})
	}
}

func TestStreamEmitDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	n := nodetest.New(t, lookup(t, "stream.emit"), nodetest.Setup{Params: map[string]any{"delay": "20ms"}})
	start := time.Now()
	res := n.Run(t, nodetest.In{Values: map[string]any{"items": []any{1, 2}}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if elapsed := time.Since(start); elapsed < 2*delay {
		t.Errorf("two chunks took %v, want at least %v", elapsed, 2*delay)
	}
	// A cancelled context ends the wait at once.
	n = nodetest.New(t, lookup(t, "stream.emit"), nodetest.Setup{Params: map[string]any{"delay": 3600}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res = n.RunContext(ctx, t, nodetest.In{Values: map[string]any{"items": []any{1}}})
	if !errors.Is(res.Err, context.Canceled) || len(res.Chunks["out"]) != 0 {
		t.Errorf("cancelled: err = %v, chunks = %v", res.Err, res.Chunks["out"])
	}
}

func TestStreamEmitCancelled(t *testing.T) {
	n := nodetest.New(t, lookup(t, "stream.emit"), nodetest.Setup{})
	res := n.Run(t, nodetest.In{Values: map[string]any{"items": []any{0, 1, 2, 3}}, CancelAfter: 2})
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("err = %v, want ErrCancelled", res.Err)
	}
	if got := res.Out(); got != 1 {
		t.Errorf("final = %v, want 1 (the accumulation so far)", got)
	}
}

func TestStreamEmitErrors(t *testing.T) {
	n := nodetest.New(t, lookup(t, "stream.emit"), nodetest.Setup{})
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"items": "abc"}}), nil, `input "items": want a list, got string "abc"`)
	wantParamError(t, buildErr(t, "stream.emit", nodetest.Setup{Params: map[string]any{"delay": "soon"}}), "delay", `invalid duration "soon"`)
	wantParamError(t, buildErr(t, "stream.emit", nodetest.Setup{Params: map[string]any{"delay": -1}}), "delay", "negative")
	wantParamError(t, buildErr(t, "stream.emit", nodetest.Setup{Params: map[string]any{"delay": true}}), "delay", "want a duration")
}
