package builtin

import (
	"context"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func streamJoinSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.join",
		Doc: "Reads a stream to its end and joins its chunks into one string.\n\n" +
			"A string chunk is used as is, any other as JSON; sep goes between chunks. " +
			"With reverse the last chunk comes first.",
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "The stream to join."},
			{Name: "sep", Type: registry.String, Const: true, Default: "", HasDefault: true, Doc: "The separator put between chunks."},
			{Name: "reverse", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Join the chunks last first."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The joined chunks."}},
		Example: "line:\n  type: stream.join\n  inputs: {s: words}\n  with: {sep: \" \", reverse: true}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			n, err := newJoinNode(cfg)
			if err != nil {
				return nil, err
			}
			n.limit = env.MaxValueBytes()
			return n, nil
		},
	}
}

func newJoinNode(cfg registry.Config) (*joinNode, error) {
	sep, err := cfg.Params.String("sep")
	if err != nil {
		return nil, err
	}
	reverse, err := cfg.Params.Bool("reverse")
	if err != nil {
		return nil, err
	}
	return &joinNode{sep: sep, reverse: reverse}, nil
}

// joinNode joins a stream's chunks.
type joinNode struct {
	sep     string
	reverse bool
	limit   int64 // of the chunks read, in bytes (registry.SizeOf)
}

var _ registry.Node = (*joinNode)(nil)

func (n *joinNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	if !n.reverse {
		// Join as the chunks come: only the string is kept.
		var b strings.Builder
		for i := 0; ; i++ {
			c, ok, err := s.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				out.Set("out", b.String())
				return nil
			}
			piece := text(c)
			if int64(b.Len()+len(n.sep)+len(piece)) > n.limit {
				s.Cancel()
				return &registry.ValueTooLargeError{Output: "out", Limit: n.limit}
			}
			if i > 0 {
				b.WriteString(n.sep)
			}
			b.WriteString(piece)
		}
	}
	chunks, err := readAll(ctx, s, n.reverse, n.limit)
	if err != nil {
		return err
	}
	parts := make([]string, len(chunks))
	for i, c := range chunks {
		parts[i] = text(c)
	}
	out.Set("out", strings.Join(parts, n.sep))
	return nil
}
