package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func mathAddSpec() registry.Spec {
	return registry.Spec{
		Type: "math.add",
		Doc: "Adds two values: numbers add, strings and lists concatenate.\n\n" +
			"Both values must be of the same kind (two integers give an integer). " +
			"Anything else, such as a string and a number, is an error.",
		Inputs: []registry.Input{
			{Name: "a", Doc: "The left operand."},
			{Name: "b", Default: 0, HasDefault: true, Doc: "The right operand; 0 when unbound."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "a + b."}},
		Example: "sum:\n  type: math.add\n  inputs: {a: x, b: y}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &addNode{}, nil
		},
	}
}

// addNode adds a and b by the add rule.
type addNode struct{}

var _ registry.Node = (*addNode)(nil)

func (*addNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	v, err := add(in.Value("a"), in.Value("b"))
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
