package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func logicNotSpec() registry.Spec {
	return registry.Spec{
		Type: "logic.not",
		Doc:  "Negates a boolean.\n\nAnything but true or false is an error.",
		Inputs: []registry.Input{
			{Name: "x", Type: registry.Boolean, Doc: "The boolean to negate."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Boolean, Doc: "not x."}},
		Example: "toggle:\n  type: logic.not\n  inputs: {x: toggle}\n  defaults: {x: true}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &notNode{}, nil
		},
	}
}

// notNode negates a boolean.
type notNode struct{}

var _ registry.Node = (*notNode)(nil)

func (*notNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	x, ok := in.Value("x").(bool)
	if !ok {
		return fmt.Errorf("input %q: want a boolean, got %s", "x", registry.Describe(in.Value("x")))
	}
	out.Set("out", !x)
	return nil
}
