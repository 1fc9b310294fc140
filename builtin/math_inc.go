package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func mathIncSpec() registry.Spec {
	return registry.Spec{
		Type: "math.inc",
		Doc:  "Adds one to a number.\n\nAn integer stays an integer.",
		Inputs: []registry.Input{
			{Name: "x", Type: registry.Number, Doc: "The number to increment."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "x + 1."}},
		Example: "inc:\n  type: math.inc\n  inputs: {x: double}\n  defaults: {x: 0}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &incNode{}, nil
		},
	}
}

// incNode adds one.
type incNode struct{}

var _ registry.Node = (*incNode)(nil)

func (*incNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	x, err := numberInput(in, "x")
	if err != nil {
		return err
	}
	v, err := arith('+', x, 1)
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
