package builtin

import (
	"context"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textUpperSpec() registry.Spec {
	return registry.Spec{
		Type: "text.upper",
		Doc:  "Converts a string to upper case.\n\nAnything but a string is an error.",
		Inputs: []registry.Input{
			{Name: "s", Type: registry.String, Doc: "The string to convert."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "s in upper case."}},
		Example: "shout:\n  type: text.upper\n  inputs: {s: words}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &upperNode{}, nil
		},
	}
}

// upperNode upper-cases a string.
type upperNode struct{}

var _ registry.Node = (*upperNode)(nil)

func (*upperNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	s, err := wantString("s", in.Value("s"))
	if err != nil {
		return err
	}
	out.Set("out", strings.ToUpper(s))
	return nil
}
