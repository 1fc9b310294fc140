package builtin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ergochat/readline"
	"golang.org/x/term"

	"github.com/flowrun/flowrun/internal/console"
	"github.com/flowrun/flowrun/registry"
)

func termChatSpec() registry.Spec {
	return registry.Spec{
		Type:    "term.chat",
		Effects: []registry.Effect{registry.Terminal},
		Doc: "Prints a streamed answer, then reads the user's next prompt.\n\n" +
			"Each run prints the chunks of answer to stdout as they arrive, then a newline. When the answer's " +
			"producer failed, it prints one line \"error: <cause>\" to stderr and goes on; when the answer was " +
			"interrupted (Ctrl-C, or the run was cancelled) it marks the partial answer with \" [interrupted]\". " +
			"Then it reads the next prompt: in a terminal with a line editor (prompt, history, Ctrl-A/E, arrows), " +
			"otherwise one line of stdin, printing no prompt. Empty lines are skipped. End of input (Ctrl-D), a " +
			"Ctrl-C at the prompt or the line /exit end the flow cleanly.\n\n" +
			"Outside a terminal a pending read of stdin is not interrupted when the flow is cancelled; it ends at " +
			"the next line or at end of input.",
		Stateful: true,
		Inputs: []registry.Input{
			{Name: "answer", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "The answer to print, read as a stream; null (the default, which starts a chat cycle) prints nothing."},
			{Name: "usage", Type: registry.Object, Stream: true, HasDefault: true, Default: nil,
				Doc: "Token usage of the answer, read as a stream after the answer (connect llm.chat's usage); " +
					"when the server sent it, one line such as \"[12 prompt + 30 completion tokens]\" goes to stderr."},
			{Name: "prompt", Type: registry.String, Const: true, HasDefault: true, Default: "> ",
				Doc: "The prompt shown in a terminal."},
		},
		Outputs: []registry.Output{
			{Name: "prompt", Type: registry.String, Doc: "The line the user typed, without its line end."},
		},
		Example: "chat:\n  type: term.chat\n  inputs: {answer: reply.out}\n  with: {prompt: \"you> \"}\n",
		Check: func(cfg registry.Config) error {
			_, err := chatStringParam(cfg, "prompt", "> ")
			return err
		},
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			prompt, err := chatStringParam(cfg, "prompt", "> ")
			if err != nil {
				return nil, err
			}
			return &termChatNode{env: env, prompt: prompt}, nil
		},
	}
}

// termChatNode is one term.chat node. The line reader is created on the
// first read (New does no I/O) and kept, with its history and buffer, for
// the node's lifetime.
type termChatNode struct {
	env    registry.Env
	prompt string
	rl     *readline.Instance // interactive
	// cancelStdin ends the line editor's pending read of stdin (Close).
	cancelStdin func()
	br          *bufio.Reader // not interactive
}

var (
	_ registry.Node   = (*termChatNode)(nil)
	_ registry.Closer = (*termChatNode)(nil)
)

// errEndOfChat is wrapped with registry.ErrStop when the user ends the chat.
var errEndOfChat = errors.New("end of chat")

// Run prints the answer as it streams, then blocks until the user enters
// a non-empty line. When ctx is done while it waits it returns ctx's error
// (at once in a terminal; outside one, after the pending read). End of
// input, Ctrl-C at the prompt and /exit return an error wrapping
// registry.ErrStop.
func (n *termChatNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if err := n.printAnswer(ctx, in.Stream("answer")); err != nil {
		return err
	}
	n.printUsage(ctx, in.Stream("usage"))
	for {
		line, err := n.readLine(ctx)
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "/exit":
			return fmt.Errorf("%w: %w", errEndOfChat, registry.ErrStop)
		}
		out.Set("prompt", line)
		return nil
	}
}

// printUsage prints the token usage the answer's producer emitted, if any.
// The usage stream ends with the answer's run, so reading it after the
// answer never waits for more than that run.
func (n *termChatNode) printUsage(ctx context.Context, s registry.Stream) {
	for {
		chunk, ok, _ := s.Next(ctx)
		if !ok {
			return
		}
		u, _ := chunk.(map[string]any)
		if u == nil {
			continue
		}
		fmt.Fprintf(n.stderr(), "[%v prompt + %v completion tokens]\n", u["prompt_tokens"], u["completion_tokens"])
	}
}

// printAnswer copies the stream to stdout and reports its end. It returns
// an error only when ctx is done.
func (n *termChatNode) printAnswer(ctx context.Context, s registry.Stream) error {
	w := n.stdout()
	printed := false
	for {
		chunk, ok, err := s.Next(ctx)
		if ok {
			text, isString := chunk.(string)
			if !isString {
				b, _ := json.Marshal(chunk)
				text = string(b)
			}
			if text != "" {
				io.WriteString(w, text)
				printed = true
			}
			continue
		}
		switch {
		case ctx.Err() != nil:
			if printed {
				io.WriteString(w, "\n")
			}
			return context.Cause(ctx)
		case err == nil:
			if printed {
				io.WriteString(w, "\n")
			}
		case errors.Is(err, context.Canceled) || errors.Is(err, registry.ErrCancelled):
			io.WriteString(w, " [interrupted]\n")
		default:
			if printed {
				io.WriteString(w, "\n")
			}
			fmt.Fprintf(n.stderr(), "error: %s\n", oneLine(err.Error()))
		}
		return nil
	}
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func (n *termChatNode) stdout() io.Writer {
	if n.env.Stdout == nil {
		return io.Discard
	}
	return n.env.Stdout
}

func (n *termChatNode) stderr() io.Writer {
	if n.env.Stderr == nil {
		return io.Discard
	}
	return n.env.Stderr
}

// readLine reads one line, with the line editor in a terminal.
func (n *termChatNode) readLine(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", context.Cause(ctx)
	}
	if n.env.Interactive {
		return n.readTerminal(ctx)
	}
	if n.br == nil {
		if n.env.Stdin == nil {
			return "", fmt.Errorf("no input: %w: %w", errEndOfChat, registry.ErrStop)
		}
		n.br = bufio.NewReader(n.env.Stdin)
	}
	line, err := n.br.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil // a last line without a line end
	}
	if err == io.EOF {
		return "", fmt.Errorf("end of input: %w: %w", errEndOfChat, registry.ErrStop)
	}
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// fdOf returns the file descriptor behind r, if it has one.
func fdOf(v any) (int, bool) {
	f, ok := v.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	return int(f.Fd()), true
}

func (n *termChatNode) readTerminal(ctx context.Context) (string, error) {
	if n.rl == nil {
		cfg := n.readlineConfig()
		cfg.Stdin, n.cancelStdin = cancelableStdin(cfg.Stdin)
		rl, err := readline.NewFromConfig(cfg)
		if err != nil {
			n.cancelStdin()
			return "", fmt.Errorf("start the line editor: %w", err)
		}
		n.rl = rl
	}
	// Closing the editor interrupts a pending Readline when the flow stops.
	stop := context.AfterFunc(ctx, func() { n.rl.Close() })
	line, err := n.rl.ReadLine()
	stop()
	if ctx.Err() != nil {
		return "", context.Cause(ctx)
	}
	switch {
	case err == nil:
		return line, nil
	case errors.Is(err, io.EOF):
		return "", fmt.Errorf("end of input: %w: %w", errEndOfChat, registry.ErrStop)
	case errors.Is(err, readline.ErrInterrupt):
		return "", fmt.Errorf("interrupted at the prompt: %w: %w", errEndOfChat, registry.ErrStop)
	}
	return "", fmt.Errorf("read the terminal: %w", err)
}

// readlineConfig wires the editor to the node's stdin and stdout instead
// of the process's, with in-memory history only.
func (n *termChatNode) readlineConfig() *readline.Config {
	cfg := &readline.Config{
		Prompt:          n.prompt,
		HistoryLimit:    1000,
		Stdin:           n.env.Stdin,
		Stdout:          n.stdout(),
		Stderr:          n.stderr(),
		FuncIsTerminal:  func() bool { return true },
		InterruptPrompt: "^C",
		EOFPrompt:       "\n",
	}
	// The editor leaves raw mode both from ReadLine and from Close, which
	// a cancelled run calls on another goroutine.
	var (
		mu    sync.Mutex
		state *term.State
	)
	if fd, ok := fdOf(n.env.Stdin); ok && term.IsTerminal(fd) {
		cfg.FuncMakeRaw = func() error {
			mu.Lock()
			defer mu.Unlock()
			s, err := console.MakeRaw(fd)
			state = s
			return err
		}
		cfg.FuncExitRaw = func() error {
			mu.Lock()
			defer mu.Unlock()
			if state == nil {
				return nil
			}
			err := term.Restore(fd, state)
			state = nil
			return err
		}
	} else {
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
	}
	if fd, ok := fdOf(n.env.Stdout); ok && term.IsTerminal(fd) {
		cfg.FuncGetSize = func() (int, int) {
			w, h, err := term.GetSize(fd)
			if err != nil {
				return 80, 24
			}
			return w, h
		}
	} else {
		cfg.FuncGetSize = func() (int, int) { return 80, 24 }
	}
	cfg.FuncOnWidthChanged = func(func()) {}
	return cfg
}

// Close restores the terminal if the line editor was started, and ends
// the editor's goroutine, even one blocked reading the terminal.
func (n *termChatNode) Close(ctx context.Context) error {
	if n.rl == nil {
		return nil
	}
	err := n.rl.Close()
	n.cancelStdin()
	return err
}
