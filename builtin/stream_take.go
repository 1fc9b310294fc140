package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func streamTakeSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.take",
		Doc: "Reads the first n chunks of a stream and gives them as a list.\n\n" +
			"With cancel (the default) it then cancels the stream: the producer's run stops, and its other consumers " +
			"see the end of the stream after the chunks already emitted. Without cancel it reads the rest of the " +
			"stream and discards it, so that the producer finishes its run. A shorter stream gives all its chunks.",
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "The stream to read."},
			{Name: "n", Type: registry.Integer, Doc: "How many chunks to take; 0 or more."},
			{Name: "cancel", Type: registry.Boolean, Const: true, Default: true, HasDefault: true,
				Doc: "Cancel the stream after n chunks instead of reading it to the end."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Array, Doc: "The chunks taken."}},
		Example: "first:\n  type: stream.take\n  inputs: {s: numbers}\n  with: {n: 1, cancel: true}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			cancel, err := cfg.Params.Bool("cancel")
			if err != nil {
				return nil, err
			}
			return &takeNode{cancel: cancel, limit: env.MaxValueBytes()}, nil
		},
	}
}

// takeNode takes the first n chunks of a stream.
type takeNode struct {
	cancel bool
	limit  int64 // of the chunks taken, in bytes (registry.SizeOf)
}

var _ registry.Node = (*takeNode)(nil)

func (n *takeNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	count, ok := registry.AsInt(in.Value("n"))
	if !ok || count < 0 {
		return fmt.Errorf("input %q: want an integer 0 or more, got %s", "n", registry.Describe(in.Value("n")))
	}
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	taken := []any{}
	var size int64
	for len(taken) < count {
		c, ok, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			out.Set("out", taken)
			return nil
		}
		if size += 16 + registry.SizeOf(c); size > n.limit {
			s.Cancel()
			return &registry.ValueTooLargeError{Output: "out", Limit: n.limit}
		}
		taken = append(taken, c)
	}
	if n.cancel {
		s.Cancel()
	} else {
		for {
			_, ok, err := s.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
	}
	out.Set("out", taken)
	return nil
}
