package builtin

import (
	"context"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textSplitSpec() registry.Spec {
	return registry.Spec{
		Type: "text.split",
		Doc: "Splits a string into a list of strings.\n\n" +
			"With the default separator (\"\") it splits on runs of white space and drops empty words, " +
			"like Python's str.split(); with a separator it splits at every occurrence of it.",
		Inputs: []registry.Input{
			{Name: "s", Type: registry.String, Doc: "The string to split."},
			{Name: "sep", Type: registry.String, Default: "", HasDefault: true, Doc: "The separator; \"\" means white space."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Array, Doc: "The list of parts."}},
		Example: "words:\n  type: text.split\n  inputs: {s: sentence}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &splitNode{}, nil
		},
	}
}

// splitNode splits a string.
type splitNode struct{}

var _ registry.Node = (*splitNode)(nil)

func (*splitNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	s, err := wantString("s", in.Value("s"))
	if err != nil {
		return err
	}
	sep, err := wantString("sep", in.Value("sep"))
	if err != nil {
		return err
	}
	var parts []string
	if sep == "" {
		parts = strings.Fields(s)
	} else {
		parts = strings.Split(s, sep)
	}
	list := make([]any, len(parts))
	for i, p := range parts {
		list[i] = p
	}
	out.Set("out", list)
	return nil
}
