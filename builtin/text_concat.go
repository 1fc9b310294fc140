package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textConcatSpec() registry.Spec {
	return registry.Spec{
		Type: "text.concat",
		Doc: "Joins its inputs into one string, in the order they are written in the flow file.\n\n" +
			"The inputs have any names (a, b, ...), and there must be at least one. " +
			"A string is used as is; any other value as its JSON text. " +
			"The parameter sep is put between consecutive inputs.",
		Inputs: []registry.Input{
			{Name: "sep", Type: registry.String, Const: true, Default: "", HasDefault: true, Doc: "The separator put between inputs."},
		},
		Variadic: &registry.Input{Doc: "A value to join; strings as is, other values as JSON."},
		Outputs:  []registry.Output{{Name: "out", Type: registry.String, Doc: "The joined string."}},
		Example:  "greeting:\n  type: text.concat\n  inputs: {a: first_name, b: last_name}\n  with: {sep: \" \"}\n",
		Check:    checkConcat,
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			if err := checkConcat(cfg); err != nil {
				return nil, err
			}
			sep, _ := cfg.Params.String("sep")
			return &concatNode{sep: sep, names: variadicNames(cfg, "sep")}, nil
		},
	}
}

func checkConcat(cfg registry.Config) error {
	if _, err := cfg.Params.String("sep"); err != nil {
		return err
	}
	if len(variadicNames(cfg, "sep")) == 0 {
		return errors.New("text.concat needs at least one input to join (a and b, for example)")
	}
	return nil
}

// concatNode joins its variadic inputs.
type concatNode struct {
	sep   string
	names []string
}

var _ registry.Node = (*concatNode)(nil)

func (n *concatNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	var b strings.Builder
	for i, name := range n.names {
		if i > 0 {
			b.WriteString(n.sep)
		}
		b.WriteString(text(in.Value(name)))
	}
	out.Set("out", b.String())
	return nil
}
