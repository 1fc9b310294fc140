package builtin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/flowrun/flowrun/internal/console"
	"github.com/flowrun/flowrun/registry"
)

func termInputSpec() registry.Spec {
	return registry.Spec{
		Type:    "term.input",
		Effects: []registry.Effect{registry.Terminal},
		Doc: "Reads one line from standard input per run, after writing a prompt.\n\n" +
			"The line is given without its line end. The node is live: it reads the next line as soon as its " +
			"consumers took the previous one, so a line can be typed while the rest of the flow works. At the " +
			"end of the input the node is done: the flow ends cleanly once the work in flight finished. " +
			"In a terminal it reads with a line editor whose prompt stays on the last line: what term.print " +
			"prints meanwhile appears above it, and what is being typed stays intact. There Ctrl-D ends the input, " +
			"/exit ends the flow, a Ctrl-C while an answer streams cuts the answer, and one at an idle prompt ends " +
			"the flow (exit 0). Outside a terminal a run blocks while it waits for the line; a cancelled run ends " +
			"once the read returns.",
		Stateful: true,
		Live:     true,
		Inputs: []registry.Input{
			{Name: "prompt", Type: registry.String, Const: true, Default: "> ", HasDefault: true, Doc: "Shown before each read in a terminal (not in a pipe); may be empty."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The line read."}},
		Example: "ask:\n  type: term.input\n  with: {prompt: \"you> \"}\n  after: [answer]\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			prompt, err := cfg.Params.String("prompt")
			if err != nil {
				return nil, err
			}
			n := &termInputNode{prompt: prompt, stdout: env.Stdout, console: env.Console}
			if !env.Interactive {
				n.prompt = "" // in a pipe the output is the flow's alone
			}
			if env.Stdin != nil {
				n.stdin = bufio.NewReader(env.Stdin)
			}
			return n, nil
		},
	}
}

// errEndOfInput ends the flow when standard input is exhausted.
var errEndOfInput = fmt.Errorf("end of input: %w", registry.ErrDone)

// termInputNode reads lines; its reader keeps what was read ahead.
type termInputNode struct {
	console registry.Console // in a terminal: the shared line editor
	prompt  string
	stdin   *bufio.Reader
	stdout  io.Writer
}

var _ registry.Node = (*termInputNode)(nil)

func (n *termInputNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", registry.ErrCancelled, err)
	}
	if n.console != nil {
		return n.readConsole(ctx, out)
	}
	if n.stdin == nil {
		return errEndOfInput
	}
	if n.prompt != "" && n.stdout != nil {
		if _, err := io.WriteString(n.stdout, n.prompt); err != nil {
			return fmt.Errorf("write prompt: %w", err)
		}
	}
	line, err := n.stdin.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read standard input: %w", err)
	}
	if err != nil && line == "" {
		return errEndOfInput
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	out.Set("out", line)
	return nil
}

// readConsole reads a non-empty line with the terminal's line editor,
// whose prompt stays below what the flow prints meanwhile. Ctrl-D ends
// the input (the answer in flight is still printed); a Ctrl-C that
// interrupted nothing and the line /exit end the flow at once.
func (n *termInputNode) readConsole(ctx context.Context, out registry.Outputs) error {
	for {
		line, err := n.console.ReadLine(ctx, n.prompt)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %w", registry.ErrCancelled, context.Cause(ctx))
		case errors.Is(err, io.EOF):
			return errEndOfInput
		case errors.Is(err, console.ErrInterrupt):
			return fmt.Errorf("interrupted at the prompt: %w", registry.ErrStop)
		case err != nil:
			return fmt.Errorf("read the terminal: %w", err)
		}
		switch line = strings.TrimSpace(line); line {
		case "":
			continue
		case "/exit":
			return fmt.Errorf("/exit: %w", registry.ErrStop)
		}
		out.Set("out", line)
		return nil
	}
}
