package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func valueIdentitySpec() registry.Spec {
	return registry.Spec{
		Type: "value.identity",
		Doc:  "Passes its input through unchanged.",
		Inputs: []registry.Input{
			{Name: "x", Doc: "The value to pass on."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "x, unchanged."}},
		Example: "same:\n  type: value.identity\n  inputs: {x: source}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &identityNode{}, nil
		},
	}
}

// identityNode passes x through.
type identityNode struct{}

var _ registry.Node = (*identityNode)(nil)

func (*identityNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	out.Set("out", in.Value("x"))
	return nil
}
