package builtin

import (
	"context"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textLowerSpec() registry.Spec {
	return registry.Spec{
		Type: "text.lower",
		Doc:  "Converts a string to lower case.\n\nAnything but a string is an error.",
		Inputs: []registry.Input{
			{Name: "s", Type: registry.String, Doc: "The string to convert."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "s in lower case."}},
		Example: "quiet:\n  type: text.lower\n  inputs: {s: words}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &lowerNode{}, nil
		},
	}
}

// lowerNode lower-cases a string.
type lowerNode struct{}

var _ registry.Node = (*lowerNode)(nil)

func (*lowerNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	s, err := wantString("s", in.Value("s"))
	if err != nil {
		return err
	}
	out.Set("out", strings.ToLower(s))
	return nil
}
