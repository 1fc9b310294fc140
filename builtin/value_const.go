package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func valueConstSpec() registry.Spec {
	return registry.Spec{
		Type: "value.const",
		Doc: "Produces a constant value.\n\n" +
			"The value is written in the flow file under with: and may be any JSON value.",
		Inputs: []registry.Input{
			{Name: "value", Const: true, Doc: "The constant to produce."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "The constant."}},
		Example: "answer:\n  type: value.const\n  with: {value: 42}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &constNode{value: cfg.Params["value"]}, nil
		},
	}
}

// constNode produces its parameter.
type constNode struct{ value any }

var _ registry.Node = (*constNode)(nil)

func (n *constNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	out.Set("out", n.value)
	return nil
}
