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
			"An answer whose finish_reason is \"length\" (cut by the server's token limit) is marked with a dimmed " +
			"\" [cut at max_tokens]\" in a terminal, and with a note on stderr otherwise. When the answer starts over " +
			"(its producer ran on a worker that was lost, and its new run streams another answer), the partial " +
			"answer is marked with \"" + restartMark + "\" (dimmed in a terminal) and the new answer is printed " +
			"from its start on the next line; the answer is counted once. With show_reasoning, the " +
			"reasoning chunks of a reasoning model are shown before the answer, dimmed in a terminal and on stderr " +
			"otherwise.\n\n" +
			"Then it reads the next prompt: in a terminal with a line editor (prompt, history, Ctrl-A/E, arrows), " +
			"otherwise one line of stdin, printing no prompt. In a terminal nothing typed while an answer streams " +
			"is echoed into it: Ctrl-C cuts it, and other keys wait for the prompt. Empty lines are skipped. End of input (Ctrl-D), a " +
			"Ctrl-C at the prompt or the line /exit end the flow cleanly; outside a terminal, when any answer " +
			"failed, the flow then fails with one line \"N of M answers failed\" (exit 1).\n\n" +
			"Outside a terminal a pending read of stdin is not interrupted when the flow is cancelled; it ends at " +
			"the next line or at end of input.",
		Stateful: true,
		// A run changes the node's state (the line editor, stdin) only
		// once the answer's streams ended, and they end only when their
		// producer's run ended: an answer that starts over can be shown
		// again.
		Restartable: true,
		Inputs: []registry.Input{
			{Name: "answer", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "The answer to print, read as a stream; null (the default, which starts a chat cycle) prints nothing."},
			{Name: "usage", Type: registry.Object, Stream: true, HasDefault: true, Default: nil,
				Doc: "Token usage of the answer, read as a stream after the answer (connect llm.chat's usage); " +
					"when the server sent it, one line such as \"[12 prompt + 30 completion tokens]\" goes to stderr."},
			{Name: "finish_reason", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "Why the answer ended, read after it (connect llm.chat's finish_reason); \"length\" marks the answer as cut."},
			{Name: "reasoning", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "The reasoning of a reasoning model, read as a stream beside the answer (connect llm.chat's reasoning); shown only with show_reasoning."},
			{Name: "show_reasoning", Type: registry.Boolean, Const: true, HasDefault: true, Default: false,
				Doc: "Show the reasoning before the answer: dimmed in a terminal, on stderr otherwise. It never enters the conversation."},
			{Name: "prompt", Type: registry.String, Const: true, HasDefault: true, Default: "> ",
				Doc: "The prompt shown in a terminal."},
		},
		Outputs: []registry.Output{
			{Name: "prompt", Type: registry.String, Doc: "The line the user typed, without its line end."},
		},
		Example: "chat:\n  type: term.chat\n  inputs: {answer: reply.out, finish_reason: reply.finish_reason}\n  with: {prompt: \"you> \"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return newTermChat(cfg, env)
		},
	}
}

func newTermChat(cfg registry.Config, env registry.Env) (*termChatNode, error) {
	prompt, err := chatStringParam(cfg, "prompt", "> ")
	if err != nil {
		return nil, err
	}
	show, err := cfg.Params.Bool("show_reasoning")
	if err != nil {
		return nil, err
	}
	return &termChatNode{env: env, prompt: prompt, showReasoning: show}, nil
}

// termChatNode is one term.chat node. The line reader is created on the
// first read (New does no I/O) and kept, with its history and buffer, for
// the node's lifetime.
type termChatNode struct {
	env           registry.Env
	prompt        string
	showReasoning bool
	rl            *readline.Instance // interactive
	raw           *console.Raw       // interactive, when stdin is a terminal
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
// registry.ErrStop. Each answer is counted in the flow's answer tally
// (registry.Env.Answers), so that, outside a terminal, a flow that ends
// after failed answers fails with how many failed.
func (n *termChatNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if err := n.showAnswer(ctx, in); err != nil {
		return err
	}
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

// restartMark ends an answer whose stream started over
// (registry.ErrRestarted).
const restartMark = " [the answer was lost mid-stream; it starts over]"

// ANSI codes of the marks and the reasoning in a terminal.
const (
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

// dim returns s dimmed for a terminal (plain when NO_COLOR is set).
func (n *termChatNode) dim(s string) string {
	if getenv(n.env)("NO_COLOR") != "" {
		return s
	}
	return ansiDim + s + ansiReset
}

// How an answer's stream ended.
type answerEnd int

const (
	answerNone        answerEnd = iota // no answer: the cycle's start
	answerDone                         // complete
	answerInterrupted                  // Ctrl-C, or the run was cancelled
	answerFailed                       // its producer failed
)

// showAnswer prints the answer (and its reasoning) as it streams, then
// how it ended, then its usage. It returns an error only when ctx is done.
func (n *termChatNode) showAnswer(ctx context.Context, in registry.Inputs) error {
	w := n.stdout()
	end, cause, open, err := n.printAnswer(ctx, in.Stream("answer"), in.Stream("reasoning"))
	if errors.Is(err, registry.ErrRestarted) {
		// The run starts over on the new answer: mark the partial one,
		// and leave the tally to the new run.
		mark := restartMark
		if !open {
			mark = strings.TrimPrefix(mark, " ")
		}
		if n.env.Interactive {
			mark = n.dim(mark)
		}
		io.WriteString(w, mark+"\n")
		return err
	}
	if err != nil {
		if open {
			io.WriteString(w, "\n")
		}
		return err
	}
	if !in.Defaulted("answer") {
		n.env.Answers.Add(end == answerFailed)
	}
	switch end {
	case answerInterrupted:
		io.WriteString(w, " [interrupted]\n")
	case answerFailed:
		if open {
			io.WriteString(w, "\n")
		}
		fmt.Fprintf(n.stderr(), "error: %s\n", oneLine(cause.Error()))
	default:
		cut := firstString(ctx, in.Stream("finish_reason")) == "length"
		switch {
		case cut && n.env.Interactive:
			io.WriteString(w, n.dim(" [cut at max_tokens]")+"\n")
		case open:
			io.WriteString(w, "\n")
		}
		if cut && !n.env.Interactive {
			fmt.Fprintln(n.stderr(), "note: the answer was cut at max_tokens (finish_reason length)")
		}
	}
	printUsage(ctx, in.Stream("usage"), n.stderr())
	return nil
}

// printUsage prints to w the token usage the answer's producer emitted,
// if any, as "[12 prompt + 30 completion tokens]". The usage stream ends
// with the answer's run, so reading it after the answer never waits for
// more than that run.
func printUsage(ctx context.Context, s registry.Stream, w io.Writer) {
	for {
		chunk, ok, _ := s.Next(ctx)
		if !ok {
			return
		}
		u, _ := chunk.(map[string]any)
		if u == nil {
			continue
		}
		fmt.Fprintf(w, "[%v prompt + %v completion tokens]\n", u["prompt_tokens"], u["completion_tokens"])
	}
}

// firstString returns the first chunk of s if it is a string, reading s
// to its end.
func firstString(ctx context.Context, s registry.Stream) string {
	first := ""
	for i := 0; ; i++ {
		chunk, ok, _ := s.Next(ctx)
		if !ok {
			return first
		}
		if str, isString := chunk.(string); isString && i == 0 {
			first = str
		}
	}
}

// A piece is one chunk of the answer or of its reasoning, or the end of
// one of the two streams.
type piece struct {
	reasoning bool
	text      string
	end       bool
	err       error // at the end: how the stream ended
}

// printAnswer prints the answer's chunks to stdout as they arrive and,
// with show_reasoning, the reasoning's chunks before them (dimmed in a
// terminal, on stderr otherwise). Both streams are read at once, so that
// neither holds up the producer. It returns how the answer ended, the
// producer's error if it failed, and whether stdout is left in the middle
// of a line; err is ctx's error when ctx is done first.
//
// The reasoning the producer emitted before the answer's first chunk is
// shown before it, however the two readers are scheduled: at the first
// chunk the reasoning's reader is stopped and what the reasoning stream
// already holds is printed first (see catchUp).
func (n *termChatNode) printAnswer(ctx context.Context, answer, reasoning registry.Stream) (end answerEnd, cause error, open bool, err error) {
	pieces := make(chan piece)
	readCtx, stop := context.WithCancel(ctx)
	var readers sync.WaitGroup
	defer func() {
		stop()
		readers.Wait() // no stream is read once the run returns
	}()
	// read sends the chunks of s, then its end, on pieces until ctx is
	// done; it returns the piece it held when ctx ended, if any.
	read := func(ctx context.Context, s registry.Stream, isReasoning bool) *piece {
		for {
			chunk, ok, err := s.Next(ctx)
			if !ok && err != nil && ctx.Err() != nil {
				return nil // stopped while waiting: nothing taken
			}
			p := piece{reasoning: isReasoning, end: !ok, err: err}
			if ok {
				p.text = chunkText(chunk)
			}
			select {
			case pieces <- p:
			case <-ctx.Done():
				return &p
			}
			if !ok {
				return nil
			}
		}
	}
	readers.Add(1)
	go func() { defer readers.Done(); read(readCtx, answer, false) }()
	// The reasoning's reader can be stopped (and started again) on its
	// own; held receives the piece it held when stopped.
	var (
		stopReasoning context.CancelFunc
		held          chan *piece
	)
	startReasoning := func() {
		var rctx context.Context
		rctx, stopReasoning = context.WithCancel(readCtx)
		held = make(chan *piece, 1)
		readers.Add(1)
		go func(held chan<- *piece) { defer readers.Done(); held <- read(rctx, reasoning, true) }(held)
	}
	startReasoning()

	w := n.stdout()
	thinking := false // reasoning was shown and its line not ended
	endThinking := func() {
		if !thinking {
			return
		}
		if n.env.Interactive {
			io.WriteString(w, "\n")
		} else {
			io.WriteString(n.stderr(), "\n")
		}
		thinking = false
	}
	showReasoning := func(text string) {
		if !n.showReasoning || text == "" {
			return
		}
		if n.env.Interactive {
			if open {
				io.WriteString(w, "\n")
				open = false
			}
			io.WriteString(w, n.dim(text))
		} else {
			io.WriteString(n.stderr(), text)
		}
		thinking = true
	}
	reasoningEnded, answerStarted := false, false
	// catchUp stops the reasoning's reader and shows the reasoning it held
	// and what the stream already holds: everything the producer emitted
	// before the chunk of the answer just received. Then the reader goes
	// on, unless the reasoning ended.
	catchUp := func() {
		stopReasoning()
		if p := <-held; p != nil {
			if p.end {
				reasoningEnded = true
				return
			}
			showReasoning(p.text)
		}
		now, cancel := context.WithCancel(ctx)
		cancel() // Next returns what is queued, and does not wait for more
		for {
			chunk, ok, err := reasoning.Next(now)
			if !ok && err != nil && now.Err() != nil {
				break
			}
			if !ok {
				reasoningEnded = true
				return
			}
			showReasoning(chunkText(chunk))
		}
		startReasoning()
	}
	for answerEnded := false; !answerEnded || !reasoningEnded; {
		var p piece
		select {
		case p = <-pieces:
		case <-ctx.Done():
			endThinking()
			return end, nil, open, context.Cause(ctx)
		}
		switch {
		case p.end:
			if p.reasoning {
				reasoningEnded = true
				continue
			}
			answerEnded = true
			switch {
			case ctx.Err() != nil:
				endThinking()
				return end, nil, open, context.Cause(ctx)
			case p.err == nil:
				end = answerDone
			case errors.Is(p.err, registry.ErrRestarted):
				endThinking()
				return end, nil, open, p.err
			case errors.Is(p.err, context.Canceled) || errors.Is(p.err, registry.ErrCancelled):
				end = answerInterrupted
			default:
				end, cause = answerFailed, p.err
			}
		case p.reasoning:
			showReasoning(p.text)
		case p.text != "":
			if !answerStarted && !reasoningEnded && n.showReasoning {
				catchUp()
			}
			answerStarted = true
			endThinking() // the reasoning ends on a line of its own
			io.WriteString(w, p.text)
			open = true
		}
	}
	endThinking()
	return end, cause, open, nil
}

// chunkText returns a chunk as text: a string as is, anything else as
// JSON.
func chunkText(chunk any) string {
	if text, ok := chunk.(string); ok {
		return text
	}
	b, _ := json.Marshal(chunk)
	return string(b)
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
	// The terminal stays raw (no echo) from the first read to Close (see
	// console.Raw): a Ctrl-C that cuts an answer, or keys typed while it
	// streams, are not echoed into the answer; the keys wait for the
	// prompt.
	if fd, ok := fdOf(n.env.Stdin); ok && term.IsTerminal(fd) {
		n.raw = console.NewRaw(fd)
		cfg.FuncMakeRaw = n.raw.Enter
		cfg.FuncExitRaw = n.raw.Exit
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
	if n.raw != nil {
		err = errors.Join(err, n.raw.Restore())
	}
	return err
}
