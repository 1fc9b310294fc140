package builtin

import (
	"context"

	"github.com/flowrun/flowrun/registry"
)

func streamZipSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.zip",
		Doc: "Pairs the chunks of two streams: emits [a0, b0], [a1, b1], ...\n\n" +
			"It stops at the end of the shorter stream and cancels the longer one (when a ends it reads one more chunk of b " +
			"to tell whether b is longer). " +
			"The final value is the list of the pairs.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "a", Stream: true, Doc: "The stream of first elements."},
			{Name: "b", Stream: true, Doc: "The stream of second elements."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Array, Doc: "One [a, b] pair per chunk."}},
		Example: "pairs:\n  type: stream.zip\n  inputs: {a: letters, b: numbers}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &zipNode{}, nil
		},
	}
}

// zipNode pairs two streams.
type zipNode struct{}

var _ registry.Node = (*zipNode)(nil)

func (*zipNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	a, b := in.Stream("a"), in.Stream("b")
	defer endRun(ctx, &err, a, b)
	pairs := []any{}
	defer func() { out.Set("out", pairs) }()
	for {
		ca, ok, err := a.Next(ctx)
		if err != nil {
			b.Cancel()
			return err
		}
		if !ok {
			// b is longer unless it ends now too.
			if _, more, err := b.Next(ctx); err != nil {
				return err
			} else if more {
				b.Cancel()
			}
			return nil
		}
		cb, ok, err := b.Next(ctx)
		if err != nil {
			a.Cancel()
			return err
		}
		if !ok {
			a.Cancel()
			return nil
		}
		pair := []any{ca, cb}
		if err := out.Emit(ctx, "out", pair); err != nil {
			a.Cancel()
			b.Cancel()
			return err
		}
		pairs = append(pairs, pair)
	}
}
