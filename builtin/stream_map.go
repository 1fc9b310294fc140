package builtin

import (
	"context"
	"fmt"
	"slices"

	"github.com/expr-lang/expr/vm"

	"github.com/flowrun/flowrun/registry"
)

// The variables stream.map gives its expression besides the node's inputs.
var mapVars = []string{"chunk", "prev"}

func streamMapSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.map",
		Doc: "Transforms each chunk of a stream with an expression and emits the result as soon as the chunk arrives.\n\n" +
			"The expression (in the expr language, as for the expr type) sees the variables chunk (the chunk), " +
			"index (its position, from 0), prev (the previous result, null at first: chunk + (prev ?? 0) is a running sum) " +
			"and the node's other inputs by name, read once per run. It is compiled when the flow is loaded. " +
			"An empty expression passes the chunks through unchanged. " +
			"When its own output is cancelled, the node cancels its input stream in turn.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "The stream to transform."},
			{Name: "expr", Type: registry.String, Const: true, Default: "", HasDefault: true,
				Doc: "The expression computing a chunk's result; empty passes chunks through."},
		},
		Variadic: &registry.Input{Doc: "A value input that the expression reads by name, such as a factor."},
		Outputs:  []registry.Output{{Name: "out", Doc: "One chunk per input chunk."}},
		Example:  "scaled:\n  type: stream.map\n  inputs: {s: numbers, k: factor}\n  with: {expr: \"chunk * k\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			prog, names, err := mapProgram(cfg)
			if err != nil {
				return nil, err
			}
			return &mapNode{prog: prog, names: names}, nil
		},
	}
}

func mapProgram(cfg registry.Config) (*vm.Program, []string, error) {
	names := variadicNames(cfg, "s", "expr")
	for _, name := range names {
		if slices.Contains(mapVars, name) || name == "index" {
			return nil, nil, fmt.Errorf("input %q: the name is taken by a variable of the expression; rename the input", name)
		}
	}
	prog, err := exprProgram(cfg, append(slices.Clone(mapVars), names...), []string{"index"})
	return prog, names, err
}

// mapNode transforms each chunk of a stream.
type mapNode struct {
	prog  *vm.Program
	names []string
}

var _ registry.Node = (*mapNode)(nil)

func (n *mapNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	env := make(map[string]any, len(n.names)+3)
	for _, name := range n.names {
		env[name] = in.Value(name)
	}
	var prev any
	for i := 0; ; i++ {
		c, ok, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if n.prog != nil {
			env["chunk"], env["index"], env["prev"] = c, i, prev
			if c, err = evalExpr(n.prog, env); err != nil {
				s.Cancel()
				return fmt.Errorf("chunk %d: %w", i, err)
			}
		}
		if err := out.Emit(ctx, "out", c); err != nil {
			s.Cancel()
			return err
		}
		prev = c
	}
}
