package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func termPrintSpec() registry.Spec {
	return registry.Spec{
		Type: "term.print",
		Doc: "Prints its input on standard output, chunk by chunk as a stream arrives.\n\n" +
			"The input s is a stream input: from a streaming producer (such as an LLM's answer) each chunk is " +
			"written as soon as it arrives, with sep between chunks; from a value producer it is the one value. " +
			"A string is written as is, any other value as JSON. After the last chunk end is written (a line end " +
			"by default). The text printed is kept for out only when something reads out. A stream interrupted " +
			"by Ctrl-C is marked \" [interrupted]\". In an interactive flow the text appears above the line " +
			"being typed at term.input's prompt.",
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "What to print."},
			{Name: "sep", Type: registry.String, Const: true, Default: "", HasDefault: true, Doc: "Written between chunks."},
			{Name: "end", Type: registry.String, Const: true, Default: "\n", HasDefault: true, Doc: "Written after the last chunk."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The text printed, without end."}},
		Example: "show:\n  type: term.print\n  inputs: {s: answer}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			n, err := newTermPrintNode(cfg, env)
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

func newTermPrintNode(cfg registry.Config, env registry.Env) (*termPrintNode, error) {
	sep, err := cfg.Params.String("sep")
	if err != nil {
		return nil, err
	}
	end, err := cfg.Params.String("end")
	if err != nil {
		return nil, err
	}
	w := env.Stdout
	if env.Console != nil {
		w = env.Console.Stdout() // above the line being typed
	}
	if w == nil {
		w = io.Discard
	}
	return &termPrintNode{sep: sep, end: end, w: w, limit: env.MaxValueBytes()}, nil
}

// termPrintNode prints a stream.
type termPrintNode struct {
	sep, end string
	w        io.Writer
	limit    int64 // of the text kept for out
}

var _ registry.Node = (*termPrintNode)(nil)

func (n *termPrintNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	// The text printed is kept only when something needs it: a stream
	// printed and forgotten keeps flat memory however long it runs.
	keep := registry.Needed(out, "out")
	var printed strings.Builder
	for i := 0; ; i++ {
		c, ok, err := s.Next(ctx)
		if errors.Is(err, registry.ErrInterrupted) && ctx.Err() == nil {
			// Ctrl-C cut the stream: what came is marked as cut short.
			piece := " [interrupted]" + n.end
			if _, err := io.WriteString(n.w, piece); err != nil {
				return fmt.Errorf("write standard output: %w", err)
			}
			out.Set("out", printed.String()+" [interrupted]")
			return nil
		}
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		piece := text(c)
		if i > 0 {
			piece = n.sep + piece
		}
		if _, err := io.WriteString(n.w, piece); err != nil {
			s.Cancel()
			return fmt.Errorf("write standard output: %w", err)
		}
		if keep {
			if int64(printed.Len()+len(piece)) > n.limit {
				s.Cancel()
				return &registry.ValueTooLargeError{Output: "out", Limit: n.limit}
			}
			printed.WriteString(piece)
		}
	}
	if _, err := io.WriteString(n.w, n.end); err != nil {
		return fmt.Errorf("write standard output: %w", err)
	}
	if keep {
		out.Set("out", printed.String())
	}
	return nil
}
