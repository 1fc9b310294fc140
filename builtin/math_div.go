package builtin

import (
	"context"
	"errors"

	"github.com/flowrun/flowrun/registry"
)

func mathDivSpec() registry.Spec {
	return registry.Spec{
		Type: "math.div",
		Doc: "Divides a by b.\n\n" +
			"Two integers that divide exactly give an integer, anything else a float. " +
			"Division by zero is an error.",
		Inputs: []registry.Input{
			{Name: "a", Type: registry.Number, Doc: "The dividend."},
			{Name: "b", Type: registry.Number, Doc: "The divisor; must not be zero."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "a / b."}},
		Example: "half:\n  type: math.div\n  inputs: {a: total}\n  with: {b: 2}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &divNode{}, nil
		},
	}
}

// divNode computes a / b.
type divNode struct{}

var _ registry.Node = (*divNode)(nil)

func (*divNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	a, b, err := numberOperands(in)
	if err != nil {
		return err
	}
	af, ai, aInt, _ := asNumber(a)
	bf, bi, bInt, _ := asNumber(b)
	if bf == 0 {
		return errors.New("division by zero")
	}
	if aInt && bInt && ai%bi == 0 && !(bi == -1 && ai < -1<<62) {
		out.Set("out", ai/bi)
		return nil
	}
	out.Set("out", af/bf)
	return nil
}
