package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func valueSwapSpec() registry.Spec {
	return registry.Spec{
		Type: "value.swap",
		Doc: "Swaps two values: first is b and second is a.\n\n" +
			"A node with two outputs: refer to them as node.first and node.second.",
		Inputs: []registry.Input{
			{Name: "a", Doc: "The value that comes out second."},
			{Name: "b", Doc: "The value that comes out first."},
		},
		Outputs: []registry.Output{
			{Name: "first", Doc: "b."},
			{Name: "second", Doc: "a."},
		},
		Example: "swap:\n  type: value.swap\n  inputs: {a: left, b: right}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &swapNode{}, nil
		},
	}
}

// swapNode exchanges a and b.
type swapNode struct{}

var _ registry.Node = (*swapNode)(nil)

func (*swapNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	out.Set("first", in.Value("b"))
	out.Set("second", in.Value("a"))
	return nil
}
