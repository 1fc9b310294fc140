package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func mathMulSpec() registry.Spec {
	return registry.Spec{
		Type: "math.mul",
		Doc: "Multiplies x by a factor, 2 unless given.\n\n" +
			"Two integers give an integer. With the default factor it is Flowno's \"double\".",
		Inputs: []registry.Input{
			{Name: "x", Type: registry.Number, Doc: "The number to multiply."},
			{Name: "by", Type: registry.Number, Default: 2, HasDefault: true, Doc: "The factor."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "x * by."}},
		Example: "double:\n  type: math.mul\n  inputs: {x: inc}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &mulNode{}, nil
		},
	}
}

// mulNode computes x * by.
type mulNode struct{}

var _ registry.Node = (*mulNode)(nil)

func (*mulNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	x, err := numberInput(in, "x")
	if err != nil {
		return err
	}
	by, err := numberInput(in, "by")
	if err != nil {
		return err
	}
	v, err := arith('*', x, by)
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
