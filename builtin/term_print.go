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
			"being typed at term.input's prompt.\n\n" +
			"For a chat's answers (flows/chatbot-split.yaml): with report_errors, a stream whose producer failed " +
			"is reported as one line \"error: <cause>\" on stderr and the run succeeds, so the flow goes on; " +
			"each stream is counted as an answer, and a flow outside a terminal that ends after failed answers " +
			"fails with one line \"N of M answers failed\" (exit 1). Connect usage to llm.chat's usage to print " +
			"\"[12 prompt + 30 completion tokens]\" on stderr after each answer. Connect finish_reason to llm.chat's " +
			"finish_reason to mark an answer cut by the token limit (\"length\"): a dimmed \" [cut at max_tokens]\" " +
			"after it in a terminal, a note on stderr otherwise; out stays the text printed, without the mark.",
		Inputs: []registry.Input{
			{Name: "s", Stream: true, Doc: "What to print."},
			{Name: "sep", Type: registry.String, Const: true, Default: "", HasDefault: true, Doc: "Written between chunks."},
			{Name: "end", Type: registry.String, Const: true, Default: "\n", HasDefault: true, Doc: "Written after the last chunk."},
			{Name: "usage", Type: registry.Object, Stream: true, HasDefault: true, Default: nil,
				Doc: "Token usage of what was printed, read after it (connect llm.chat's usage): one line on stderr when the producer sent it."},
			{Name: "finish_reason", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "Why what was printed ended, read after it (connect llm.chat's finish_reason); \"length\" marks it as cut at max_tokens."},
			{Name: "report_errors", Type: registry.Boolean, Const: true, HasDefault: true, Default: false,
				Doc: "Report a failed stream as one line \"error: <cause>\" on stderr instead of failing, and count each stream as an answer."},
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
	report, err := cfg.Params.Bool("report_errors")
	if err != nil {
		return nil, err
	}
	w, errw := env.Stdout, env.Stderr
	if env.Console != nil {
		// Above the line being typed: the terminal shows both streams.
		w = env.Console.Stdout()
		errw = w
	}
	if w == nil {
		w = io.Discard
	}
	if errw == nil {
		errw = io.Discard
	}
	n := &termPrintNode{sep: sep, end: end, w: w, errw: errw, limit: env.MaxValueBytes(), terminal: env.Interactive}
	n.cutMark = " [cut at max_tokens]"
	if getenv(env)("NO_COLOR") == "" {
		n.cutMark = ansiDim + n.cutMark + ansiReset
	}
	if report {
		n.answers = env.Answers
		if n.answers == nil {
			n.answers = new(registry.AnswerTally)
		}
	}
	return n, nil
}

// termPrintNode prints a stream.
type termPrintNode struct {
	sep, end string
	w        io.Writer
	errw     io.Writer // for failures and usage
	limit    int64     // of the text kept for out
	// terminal is true when stdout is a terminal: a cut text is marked
	// with cutMark there, and noted on errw otherwise.
	terminal bool
	cutMark  string
	// answers counts the streams printed, with report_errors; nil
	// without it.
	answers *registry.AnswerTally
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
			n.answers.Add(false)
			return nil
		}
		if err != nil && n.answers != nil && ctx.Err() == nil && !errors.Is(err, registry.ErrCancelled) {
			// The producer failed: one line, and the flow goes on.
			if i > 0 {
				if _, werr := io.WriteString(n.w, "\n"); werr != nil {
					return fmt.Errorf("write standard output: %w", werr)
				}
			}
			n.answers.Add(true)
			fmt.Fprintf(n.errw, "error: %s\n", oneLine(err.Error()))
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
	// finish_reason ends with the producer's run, as the stream did.
	cut := firstString(ctx, in.Stream("finish_reason")) == "length"
	tail := n.end
	if cut && n.terminal {
		tail = n.cutMark + n.end
	}
	if _, err := io.WriteString(n.w, tail); err != nil {
		return fmt.Errorf("write standard output: %w", err)
	}
	if cut && !n.terminal {
		fmt.Fprintln(n.errw, "note: the answer was cut at max_tokens (finish_reason length)")
	}
	if keep {
		out.Set("out", printed.String())
	}
	n.answers.Add(false)
	printUsage(ctx, in.Stream("usage"), n.errw)
	return nil
}
