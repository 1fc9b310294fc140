package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func valueSinkSpec() registry.Spec {
	return registry.Spec{
		Type: "value.sink",
		Doc: "Consumes a value and produces null.\n\n" +
			"Use it to end a branch, for example to make a node run whose result is not needed.",
		Inputs: []registry.Input{
			{Name: "x", Doc: "The value to consume."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "Always null."}},
		Example: "done:\n  type: value.sink\n  inputs: {x: result}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &sinkNode{}, nil
		},
	}
}

// sinkNode discards its input.
type sinkNode struct{}

var _ registry.Node = (*sinkNode)(nil)

func (*sinkNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	out.Set("out", nil)
	return nil
}
