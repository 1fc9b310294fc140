package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func mathSubSpec() registry.Spec {
	return registry.Spec{
		Type: "math.sub",
		Doc:  "Subtracts b from a.\n\nTwo integers give an integer.",
		Inputs: []registry.Input{
			{Name: "a", Type: registry.Number, Doc: "The number to subtract from."},
			{Name: "b", Type: registry.Number, Doc: "The number to subtract."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "a - b."}},
		Example: "diff:\n  type: math.sub\n  inputs: {a: total}\n  with: {b: 1}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &subNode{}, nil
		},
	}
}

// subNode computes a - b.
type subNode struct{}

var _ registry.Node = (*subNode)(nil)

func (*subNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	a, b, err := numberOperands(in)
	if err != nil {
		return err
	}
	v, err := arith('-', a, b)
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
