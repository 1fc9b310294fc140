package builtin

import (
	"errors"
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamCollect(t *testing.T) {
	tests := []struct {
		name    string
		reverse bool
		in      []any
		want    []any
	}{
		{"in order", false, []any{"a", 1, nil}, []any{"a", 1, nil}},
		{"reversed", true, []any{"A", "B"}, []any{"B", "A"}},
		{"empty", false, nil, []any{}},
	}
	spec := lookup(t, "stream.collect")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: map[string]any{"reverse": tt.reverse}})
			checkResult(t, n.Run(t, nodetest.In{Streams: chunks("s", tt.in...)}), tt.want, "")
		})
	}
	// A constant (a value producer) is a one-chunk stream.
	n := nodetest.New(t, spec, nodetest.Setup{Params: map[string]any{"s": "hello"}})
	checkResult(t, n.Run(t, nodetest.In{}), []any{"hello"}, "")
}

func TestStreamCollectErrors(t *testing.T) {
	boom := errors.New("stream broke")
	n := nodetest.New(t, lookup(t, "stream.collect"), nodetest.Setup{})
	res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{"s": nodetest.Chunks(1, 2).Fail(boom)}})
	if !errors.Is(res.Err, boom) || res.Read["s"] != 2 {
		t.Errorf("err = %v after %d chunks, want the producer's error after 2", res.Err, res.Read["s"])
	}
	wantParamError(t, buildErr(t, "stream.collect", nodetest.Setup{Params: map[string]any{"reverse": "yes"}}), "reverse", "want a boolean")
	if got := reflect.TypeOf(res.Out()); got != nil {
		t.Errorf("failed run: out of type %v, want none", got)
	}
}
