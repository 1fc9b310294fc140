package builtin

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

var compareOps = []any{"==", "!=", "<", "<=", ">", ">="}

func mathCompareSpec() registry.Spec {
	return registry.Spec{
		Type: "math.compare",
		Doc: "Compares two values and gives a boolean.\n\n" +
			"== and != compare any JSON values (1 equals 1.0; lists and objects compare element by element). " +
			"<, <=, > and >= compare two numbers or two strings; other operands are an error.",
		Inputs: []registry.Input{
			{Name: "a", Doc: "The left operand."},
			{Name: "b", Doc: "The right operand."},
			{Name: "op", Type: registry.String, Const: true, Default: "==", HasDefault: true, Enum: compareOps,
				Doc: "The comparison: ==, !=, <, <=, > or >=."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Boolean, Doc: "a op b."}},
		Example: "done:\n  type: math.compare\n  inputs: {a: count}\n  with: {op: \">=\", b: 3}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			op, err := cfg.Params.OneOf("op", "==", "!=", "<", "<=", ">", ">=")
			if err != nil {
				return nil, err
			}
			return &compareNode{op: op}, nil
		},
	}
}

// compareNode compares a and b with op.
type compareNode struct{ op string }

var _ registry.Node = (*compareNode)(nil)

func (n *compareNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	a, b := in.Value("a"), in.Value("b")
	switch n.op {
	case "==":
		out.Set("out", equal(a, b))
		return nil
	case "!=":
		out.Set("out", !equal(a, b))
		return nil
	}
	c, err := order(a, b)
	if err != nil {
		return fmt.Errorf("cannot compare %s %s %s: %w", registry.Describe(a), n.op, registry.Describe(b), err)
	}
	var v bool
	switch n.op {
	case "<":
		v = c < 0
	case "<=":
		v = c <= 0
	case ">":
		v = c > 0
	case ">=":
		v = c >= 0
	}
	out.Set("out", v)
	return nil
}

// equal reports whether two JSON values are equal; numbers compare by
// value whatever their Go type.
func equal(a, b any) bool {
	if af, ai, aInt, ok := asNumber(a); ok {
		bf, bi, bInt, ok := asNumber(b)
		if !ok {
			return false
		}
		if aInt && bInt {
			return ai == bi
		}
		return af == bf
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

// order compares two numbers or two strings.
func order(a, b any) (int, error) {
	if af, ai, aInt, ok := asNumber(a); ok {
		bf, bi, bInt, ok := asNumber(b)
		if !ok {
			return 0, fmt.Errorf("both must be numbers or both strings")
		}
		if aInt && bInt {
			return cmp.Compare(ai, bi), nil
		}
		return cmp.Compare(af, bf), nil
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs), nil
		}
	}
	return 0, fmt.Errorf("both must be numbers or both strings")
}
