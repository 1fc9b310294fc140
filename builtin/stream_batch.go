package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func streamBatchSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.batch",
		Doc: "Groups the chunks of a stream into lists of size chunks each, and emits each list when it is full.\n\n" +
			"The last list may be shorter. The final value is the list of the lists. " +
			"With size 2 it is the conformance suite's \"pairs\".",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "The stream to group."},
			{Name: "size", Type: registry.Integer, Default: 2, HasDefault: true, Doc: "How many chunks per list; 1 or more."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Array, Doc: "One list per group of chunks."}},
		Example: "pairs:\n  type: stream.batch\n  inputs: {s: numbers}\n  with: {size: 2}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &batchNode{}, nil
		},
	}
}

// batchNode groups chunks.
type batchNode struct{}

var _ registry.Node = (*batchNode)(nil)

func (*batchNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	size, ok := registry.AsInt(in.Value("size"))
	if !ok || size < 1 {
		return fmt.Errorf("input %q: want an integer 1 or more, got %s", "size", registry.Describe(in.Value("size")))
	}
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	batches := []any{}
	defer func() { out.Set("out", batches) }()
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := batch
		batch = nil
		if err := out.Emit(ctx, "out", b); err != nil {
			s.Cancel()
			return err
		}
		batches = append(batches, b)
		return nil
	}
	for {
		c, ok, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return flush()
		}
		batch = append(batch, c)
		if len(batch) == size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
