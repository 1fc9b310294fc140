package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func mathNegSpec() registry.Spec {
	return registry.Spec{
		Type: "math.neg",
		Doc:  "Negates a number.",
		Inputs: []registry.Input{
			{Name: "x", Type: registry.Number, Doc: "The number to negate."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "-x."}},
		Example: "minus:\n  type: math.neg\n  inputs: {x: delta}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &negNode{}, nil
		},
	}
}

// negNode computes -x.
type negNode struct{}

var _ registry.Node = (*negNode)(nil)

func (*negNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	x, err := numberInput(in, "x")
	if err != nil {
		return err
	}
	v, err := arith('-', 0, x)
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
