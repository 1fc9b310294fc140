package builtin

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestExpr(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		values  map[string]any
		want    any
		wantErr string
	}{
		{name: "arithmetic", expr: "a * 2 + b", values: map[string]any{"a": 20, "b": 2}, want: 42},
		{name: "floats", expr: "a / b", values: map[string]any{"a": 1, "b": 4}, want: 0.25},
		{name: "strings", expr: "upper(a) + b", values: map[string]any{"a": "x", "b": "y"}, want: "Xy"},
		{name: "split gives a list", expr: "split(a, ',')", values: map[string]any{"a": "p,q", "b": 0}, want: []any{"p", "q"}},
		{name: "lists", expr: "[sum(map(a, # * 2)), len(a)]", values: map[string]any{"a": []any{1, 2}, "b": 0}, want: []any{6, 2}},
		{name: "object", expr: "{'k': a.x ?? b}", values: map[string]any{"a": map[string]any{}, "b": true}, want: map[string]any{"k": true}},
		{name: "condition", expr: "a >= 3 ? 'stop' : 'go'", values: map[string]any{"a": 3, "b": 0}, want: "stop"},
		{name: "runtime error", expr: "a + b", values: map[string]any{"a": "x", "b": 1}, wantErr: "invalid operation: string + int"},
		{name: "not JSON", expr: "now()", values: map[string]any{"a": 0, "b": 0}, wantErr: "result: time.Time is not a JSON value"},
	}
	spec := lookup(t, "expr")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Variadic: []string{"a", "b"}, Params: map[string]any{"expr": tt.expr}})
			checkResult(t, n.Run(t, nodetest.In{Values: tt.values}), tt.want, tt.wantErr)
		})
	}
}

func TestExprCheck(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"a + bb", "unknown name bb at column 5"},
		{"a +", "unexpected token EOF at column 3"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			err := buildErr(t, "expr", nodetest.Setup{Variadic: []string{"a", "b"}, Params: map[string]any{"expr": tt.expr}})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			wantParamError(t, err, "expr", tt.want)
		})
	}
	// An empty expression builds (the loader may check it) but fails.
	n := nodetest.New(t, lookup(t, "expr"), nodetest.Setup{Params: map[string]any{"expr": " "}})
	if res := n.Run(t, nodetest.In{}); res.Err == nil || !strings.Contains(res.Err.Error(), "empty expression") {
		t.Errorf("empty expression: err = %v", res.Err)
	}
}

func TestJSONShaped(t *testing.T) {
	got, err := jsonShaped(map[string][]int{"a": {1, 2}})
	if err != nil || !reflect.DeepEqual(got, map[string]any{"a": []any{1, 2}}) {
		t.Errorf("jsonShaped = %#v, %v", got, err)
	}
	if _, err := jsonShaped(map[int]int{1: 1}); err == nil {
		t.Error("map with int keys: no error")
	}
}
