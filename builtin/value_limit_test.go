package builtin

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// The node types that build a whole value from a stream fail past
// Env.ValueLimit with a registry.ValueTooLargeError, and build it within.
func TestWholeValuesBuiltByNodesAreBounded(t *testing.T) {
	ten := strings.Repeat("x", 10)
	many := make([]any, 100) // 100 chunks of 10 bytes
	for i := range many {
		many[i] = ten
	}
	for _, tc := range []struct {
		typ    string
		params map[string]any
		values map[string]any
	}{
		{"stream.join", nil, nil},
		{"stream.join", map[string]any{"reverse": true}, nil},
		{"stream.collect", nil, nil},
		{"stream.take", map[string]any{"cancel": false}, map[string]any{"n": 1000}},
		{"term.print", nil, nil},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			for _, limit := range []int64{500, 100_000} {
				n := nodetest.New(t, lookup(t, tc.typ), nodetest.Setup{Params: tc.params, Env: registry.Env{ValueLimit: limit}})
				res := n.Run(t, nodetest.In{Values: tc.values, Streams: chunks("s", many...)})
				var big *registry.ValueTooLargeError
				switch {
				case limit == 500 && (!errors.As(res.Err, &big) || big.Output != "out" || big.Limit != 500):
					t.Errorf("limit %d: err = %v, want a ValueTooLargeError for out", limit, res.Err)
				case limit > 500 && res.Err != nil:
					t.Errorf("limit %d: err = %v", limit, res.Err)
				}
			}
		})
	}
}

// exec fails on a line longer than the limit, and in lines mode on output
// past it.
func TestExecOutputIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name, script, output string
	}{
		{"one long line", "head -c 5000 /dev/zero", "text"},
		{"many lines", "yes | head -n 1000", "lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := nodetest.New(t, lookup(t, "exec"), nodetest.Setup{
				Params: map[string]any{"command": []any{"sh", "-c", tc.script}, "stdin": "none", "output": tc.output},
				Env:    registry.Env{ValueLimit: 1000, Getenv: func(k string) string { return map[string]string{"PATH": "/usr/bin:/bin"}[k] }},
			})
			res := n.Run(t, nodetest.In{})
			var big *registry.ValueTooLargeError
			if !errors.As(res.Err, &big) || big.Limit != 1000 {
				t.Errorf("err = %v, want a ValueTooLargeError", res.Err)
			}
		})
	}
}
