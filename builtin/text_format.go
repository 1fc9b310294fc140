package builtin

import (
	"context"
	"slices"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textFormatSpec() registry.Spec {
	return registry.Spec{
		Type: "text.format",
		Doc: "Fills a template with the node's inputs.\n\n" +
			"Each {name} in the template is replaced by the input of that name: a string as is, any other value as JSON. " +
			"Write {{ and }} for literal braces. A placeholder without an input of that name is an error " +
			"when the flow is loaded.",
		Inputs: []registry.Input{
			{Name: "template", Type: registry.String, Const: true, Doc: "The template, with {name} placeholders."},
		},
		Variadic: &registry.Input{Doc: "A value for the placeholder of the same name."},
		Outputs:  []registry.Output{{Name: "out", Type: registry.String, Doc: "The filled template."}},
		Example:  "line:\n  type: text.format\n  inputs: {name: user, n: count}\n  with: {template: \"{name} has {n} messages\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			parts, err := parseFormat(cfg)
			if err != nil {
				return nil, err
			}
			return &formatNode{parts: parts}, nil
		},
	}
}

// A formatPart is literal text, or a placeholder when input is not empty.
type formatPart struct {
	literal string
	input   string
}

// parseFormat parses the template parameter against the node's inputs.
func parseFormat(cfg registry.Config) ([]formatPart, error) {
	tmpl, ok := cfg.Params["template"].(string)
	if !ok {
		return nil, paramError("template", "want a string, got %s", registry.Describe(cfg.Params["template"]))
	}
	inputs := variadicNames(cfg, "template")
	var parts []formatPart
	var lit strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return nil, paramError("template", "unclosed { at column %d (write {{ for a literal brace)", i+1)
			}
			name := tmpl[i+1 : i+end]
			if !slices.Contains(inputs, name) {
				have := "the node has no inputs"
				if len(inputs) > 0 {
					have = "the node's inputs are " + strings.Join(inputs, ", ")
				}
				return nil, paramError("template", "placeholder {%s} at column %d names no input: %s", name, i+1, have)
			}
			if lit.Len() > 0 {
				parts = append(parts, formatPart{literal: lit.String()})
				lit.Reset()
			}
			parts = append(parts, formatPart{input: name})
			i += end
		case c == '}':
			return nil, paramError("template", "unmatched } at column %d (write }} for a literal brace)", i+1)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, formatPart{literal: lit.String()})
	}
	return parts, nil
}

// formatNode fills its template.
type formatNode struct{ parts []formatPart }

var _ registry.Node = (*formatNode)(nil)

func (n *formatNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	var b strings.Builder
	for _, p := range n.parts {
		if p.input == "" {
			b.WriteString(p.literal)
		} else {
			b.WriteString(text(in.Value(p.input)))
		}
	}
	out.Set("out", b.String())
	return nil
}
