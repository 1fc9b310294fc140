package builtin

import (
	"errors"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamJoin(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		in     []any
		want   string
	}{
		{"plain", nil, []any{"a", "b"}, "ab"},
		{"reversed with sep", map[string]any{"sep": " ", "reverse": true}, []any{"HELLO", "WORLD"}, "WORLD HELLO"},
		{"JSON chunks", map[string]any{"sep": "/"}, []any{1, []any{true}}, "1/[true]"},
		{"empty", nil, nil, ""},
	}
	spec := lookup(t, "stream.join")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: tt.params})
			checkResult(t, n.Run(t, nodetest.In{Streams: chunks("s", tt.in...)}), tt.want, "")
		})
	}
}

func TestStreamJoinErrors(t *testing.T) {
	boom := errors.New("boom")
	n := nodetest.New(t, lookup(t, "stream.join"), nodetest.Setup{})
	if res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{"s": nodetest.Chunks().Fail(boom)}}); !errors.Is(res.Err, boom) {
		t.Errorf("err = %v, want boom", res.Err)
	}
	wantParamError(t, buildErr(t, "stream.join", nodetest.Setup{Params: map[string]any{"sep": 1}}), "sep", "want a string")
	wantParamError(t, buildErr(t, "stream.join", nodetest.Setup{Params: map[string]any{"reverse": 1}}), "reverse", "want a boolean")
}
