package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func jsonParseSpec() registry.Spec {
	return registry.Spec{
		Type: "json.parse",
		Doc: "Parses JSON text into a value.\n\n" +
			"Integers become integers, other numbers floats. Invalid JSON is an error that gives the position of the offending byte, counted from 1.",
		Inputs: []registry.Input{
			{Name: "s", Type: registry.String, Doc: "The JSON text."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "The parsed value."}},
		Example: "data:\n  type: json.parse\n  inputs: {s: response_text}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &jsonParseNode{}, nil
		},
	}
}

// jsonParseNode parses JSON.
type jsonParseNode struct{}

var _ registry.Node = (*jsonParseNode)(nil)

func (*jsonParseNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	s, err := wantString("s", in.Value("s"))
	if err != nil {
		return err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
