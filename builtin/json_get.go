package builtin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func jsonGetSpec() registry.Spec {
	return registry.Spec{
		Type: "json.get",
		Doc: "Gets a part of a value by a dotted path such as \"a.b.0.c\".\n\n" +
			"Each step is an object key or, in a list, an index (negative counts from the end). " +
			"The empty path gives the whole value. Keys containing dots cannot be reached. " +
			"When the path leads nowhere the run fails, unless missing is \"default\": then it gives default.",
		Inputs: []registry.Input{
			{Name: "value", Doc: "The value to look into."},
			{Name: "path", Type: registry.String, Doc: "The dotted path."},
			{Name: "missing", Type: registry.String, Const: true, Default: "error", HasDefault: true, Enum: []any{"error", "default"},
				Doc: "What a path that leads nowhere does: \"error\" fails the run, \"default\" gives default."},
			{Name: "default", Const: true, Default: nil, HasDefault: true, Doc: "The value given for a missing path when missing is \"default\"."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "The part of value at path."}},
		Example: "content:\n  type: json.get\n  inputs: {value: response}\n  with: {path: choices.0.message.content}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			missing, err := cfg.Params.OneOf("missing", "error", "default")
			if err != nil {
				return nil, err
			}
			return &jsonGetNode{useDefault: missing == "default", def: cfg.Params["default"]}, nil
		},
	}
}

// jsonGetNode looks up a path.
type jsonGetNode struct {
	useDefault bool
	def        any
}

var _ registry.Node = (*jsonGetNode)(nil)

func (n *jsonGetNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	path, err := wantString("path", in.Value("path"))
	if err != nil {
		return err
	}
	v, err := getPath(in.Value("value"), path)
	if err != nil {
		if !n.useDefault {
			return err
		}
		v = n.def
	}
	out.Set("out", v)
	return nil
}

// getPath follows a dotted path into v.
func getPath(v any, path string) (any, error) {
	if path == "" {
		return v, nil
	}
	steps := strings.Split(path, ".")
	for i, step := range steps {
		at := strings.Join(steps[:i], ".")
		if at == "" {
			at = "the value"
		} else {
			at = fmt.Sprintf("%q", at)
		}
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[step]
			if !ok {
				return nil, fmt.Errorf("path %q: %s has no key %q", path, at, step)
			}
			v = next
		case []any:
			idx, err := strconv.Atoi(step)
			if err != nil {
				return nil, fmt.Errorf("path %q: %s is a list, and %q is not an index", path, at, step)
			}
			if idx < 0 {
				idx += len(x)
			}
			if idx < 0 || idx >= len(x) {
				return nil, fmt.Errorf("path %q: index %s out of range: %s has %d elements", path, step, at, len(x))
			}
			v = x[idx]
		default:
			return nil, fmt.Errorf("path %q: %s is %s, not an object or a list", path, at, registry.Describe(v))
		}
	}
	return v, nil
}
