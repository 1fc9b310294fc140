package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestMathCompare(t *testing.T) {
	op := func(o string) map[string]any { return map[string]any{"op": o} }
	ab := func(a, b any) map[string]any { return map[string]any{"a": a, "b": b} }
	runValueCases(t, "math.compare", []valueCase{
		{name: "default ==", values: ab(1, 1.0), want: true},
		{name: "== strings", values: ab("a", "b"), want: false},
		{name: "== lists", values: ab([]any{1, "x"}, []any{1.0, "x"}), want: true},
		{name: "== objects", values: ab(map[string]any{"a": 1}, map[string]any{"a": 2}), want: false},
		{name: "== null", values: ab(nil, nil), want: true},
		{name: "== kinds differ", values: ab("1", 1), want: false},
		{name: "!=", params: op("!="), values: ab(1, 2), want: true},
		{name: "<", params: op("<"), values: ab(1, 2), want: true},
		{name: "<=", params: op("<="), values: ab(2, 2.0), want: true},
		{name: ">", params: op(">"), values: ab("b", "a"), want: true},
		{name: ">=", params: op(">="), values: ab(2.5, 3), want: false},
		{name: "< mixed", params: op("<"), values: ab("a", 1), wantErr: `cannot compare string "a" < number 1`},
		{name: "< lists", params: op("<"), values: ab([]any{}, []any{}), wantErr: "both must be numbers or both strings"},
	})
}

func TestMathCompareBadOp(t *testing.T) {
	err := buildErr(t, "math.compare", nodetest.Setup{Params: map[string]any{"op": "=<"}})
	wantParamError(t, err, "op", `want one of ==, !=, <, <=, >, >=, got string "=<"`)
}
