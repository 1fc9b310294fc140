package builtin

import (
	"context"
	"slices"

	"github.com/flowrun/flowrun/registry"
)

func streamCollectSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.collect",
		Doc: "Reads a stream to its end and gives the list of its chunks.\n\n" +
			"With reverse the list starts with the last chunk. A value producer gives a one-element list.",
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "The stream to collect."},
			{Name: "reverse", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "List the chunks last first."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Array, Doc: "The chunks, in order (or reversed)."}},
		Example: "all:\n  type: stream.collect\n  inputs: {s: words}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			reverse, err := cfg.Params.Bool("reverse")
			if err != nil {
				return nil, err
			}
			return &collectNode{reverse: reverse, limit: env.MaxValueBytes()}, nil
		},
	}
}

// collectNode gathers a stream into a list.
type collectNode struct {
	reverse bool
	limit   int64 // of the list, in bytes (registry.SizeOf)
}

var _ registry.Node = (*collectNode)(nil)

func (n *collectNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	chunks, err := readAll(ctx, s, n.reverse, n.limit)
	if err != nil {
		return err
	}
	out.Set("out", chunks)
	return nil
}

// readAll reads a stream to its end, last chunk first when reverse is set.
// The list is never nil. When the chunks grow past limit bytes
// (registry.SizeOf) it cancels the stream and returns a
// *registry.ValueTooLargeError for the output out.
func readAll(ctx context.Context, s registry.Stream, reverse bool, limit int64) ([]any, error) {
	chunks := []any{}
	var size int64
	for c, err := range s.All(ctx) {
		if err != nil {
			return nil, err
		}
		if size += 16 + registry.SizeOf(c); size > limit {
			s.Cancel()
			return nil, &registry.ValueTooLargeError{Output: "out", Limit: limit}
		}
		chunks = append(chunks, c)
	}
	if reverse {
		slices.Reverse(chunks)
	}
	return chunks, nil
}
