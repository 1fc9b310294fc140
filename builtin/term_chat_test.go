package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/flowrun/flowrun/internal/testenv"
	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestTermChatPipe(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	answers := new(registry.AnswerTally)
	env := registry.Env{
		Stdin:   strings.NewReader("hello\n\n   \r\nsecond line\r\nthird\nfourth\n/exit\nnot read\n"),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Answers: answers,
	}
	n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: env})
	runs := []struct {
		answer    *nodetest.Source
		prompt    any
		out, errs string
		stop      bool // the run ends the chat
	}{
		{answer: nil, prompt: "hello"},
		{answer: nodetest.Chunks("Hi", " there"), prompt: "second line", out: "Hi there\n"},
		{answer: nodetest.Chunks("Once").Fail(errors.New("server http://127.0.0.1:1/v1/chat/completions: stream ended before the answer was complete\nsecond line")),
			prompt: "third", out: "Once\n", errs: "error: server http://127.0.0.1:1/v1/chat/completions: stream ended before the answer was complete second line\n"},
		{answer: nodetest.Chunks("Once up").Fail(fmt.Errorf("emit: %w", registry.ErrCancelled)), prompt: "fourth", out: "Once up [interrupted]\n"},
		{answer: nodetest.Chunks().Fail(errors.New("no server answers at http://x")), out: "", errs: "error: no server answers at http://x\n", stop: true},
	}
	for i, r := range runs {
		stdout.Reset()
		stderr.Reset()
		in := nodetest.In{}
		if r.answer != nil {
			in.Streams = map[string]*nodetest.Source{"answer": r.answer}
		}
		res := n.Run(t, in)
		if r.stop {
			// "/exit" stops the chat cleanly; the tally has the failed
			// answers, so that the engine ends a flow in a pipe with them.
			if !errors.Is(res.Err, registry.ErrStop) {
				t.Errorf("run %d: err = %v, want a stop", i, res.Err)
			}
		} else if res.Err != nil || res.Out() != r.prompt {
			t.Errorf("run %d: prompt %v, err %v; want %q", i, res.Out(), res.Err, r.prompt)
		}
		if stdout.String() != r.out || stderr.String() != r.errs {
			t.Errorf("run %d: stdout %q stderr %q, want %q %q", i, stdout.String(), stderr.String(), r.out, r.errs)
		}
	}
	if err := answers.Err(); err == nil || err.Error() != "2 of 4 answers failed" {
		t.Errorf("answer tally: %v, want 2 of 4 answers failed", err)
	}
}

func TestTermChatEndOfInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		prompts     []any
	}{
		{"last line without newline", "a\nb", []any{"a", "b"}},
		{"empty input", "", nil},
		{"only blank lines", "\n\n \n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: registry.Env{Stdin: strings.NewReader(tt.input), Stdout: io.Discard}})
			var got []any
			for {
				res := n.Run(t, nodetest.In{})
				if res.Err != nil {
					if !errors.Is(res.Err, registry.ErrStop) {
						t.Fatalf("err = %v, want ErrStop", res.Err)
					}
					break
				}
				got = append(got, res.Out())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.prompts) {
				t.Errorf("prompts %v, want %v", got, tt.prompts)
			}
		})
	}
}

func TestTermChatCancelledWhilePrinting(t *testing.T) {
	t.Parallel()
	ch := make(chan any)
	var stdout bytes.Buffer
	n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: registry.Env{Stdin: strings.NewReader("x\n"), Stdout: &stdout}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := n.RunContext(ctx, t, nodetest.In{Streams: map[string]*nodetest.Source{"answer": nodetest.Chan(ch)}})
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", res.Err)
	}
}

// ptyOutput collects what the node writes to the terminal and, like a
// terminal, answers the editor's cursor position queries.
type ptyOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	change chan struct{}
}

func (p *ptyOutput) copyFrom(f io.ReadWriter) {
	b := make([]byte, 1024)
	for {
		n, err := f.Read(b)
		for range bytes.Count(b[:n], []byte("\x1b[6n")) {
			io.WriteString(f, "\x1b[1;1R")
		}
		p.mu.Lock()
		p.buf.Write(b[:n])
		close(p.change)
		p.change = make(chan struct{})
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// mark returns the length of the output so far.
func (p *ptyOutput) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Len()
}

// waitFor waits until the output after offset from holds s, and returns
// the offset just after it.
func (p *ptyOutput) waitFor(t *testing.T, s string, from int) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		out := p.buf.String()
		ch := p.change
		p.mu.Unlock()
		if i := strings.Index(out[from:], s); i >= 0 {
			return from + i + len(s)
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("terminal never showed %q after %q", s, out[:from])
		}
	}
}

func TestTermChatTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	out := &ptyOutput{change: make(chan struct{})}
	go out.copyFrom(ptmx)

	env := registry.Env{Stdin: tty, Stdout: tty, Stderr: tty, Interactive: true}
	n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: env, Params: map[string]any{"prompt": "you> "}})
	defer n.Impl.(interface{ Close(context.Context) error }).Close(t.Context())

	run := func(in nodetest.In) <-chan *nodetest.Result {
		done := make(chan *nodetest.Result, 1)
		go func() { done <- n.Run(t, in) }()
		return done
	}

	// First run: no answer yet; type a line.
	at := out.mark()
	done := run(nodetest.In{})
	out.waitFor(t, "you> ", at)
	io.WriteString(ptmx, "hello\r")
	if res := <-done; res.Err != nil || res.Out() != "hello" {
		t.Fatalf("run 1: %v, %v", res.Out(), res.Err)
	}

	// Second run: the answer streams, then the up arrow recalls "hello".
	at = out.mark()
	done = run(nodetest.In{Streams: map[string]*nodetest.Source{"answer": nodetest.Chunks("Hi", " there")}})
	at = out.waitFor(t, "Hi there\r\n", at)
	out.waitFor(t, "you> ", at)
	io.WriteString(ptmx, "\x1b[A\r")
	if res := <-done; res.Err != nil || res.Out() != "hello" {
		t.Fatalf("run 2: %v, %v", res.Out(), res.Err)
	}

	// Third run: an interrupted answer, then Ctrl-D ends the chat.
	at = out.mark()
	done = run(nodetest.In{Streams: map[string]*nodetest.Source{"answer": nodetest.Chunks("Once").Fail(context.Canceled)}})
	at = out.waitFor(t, "Once [interrupted]\r\n", at)
	out.waitFor(t, "you> ", at)
	io.WriteString(ptmx, "\x04")
	if res := <-done; !errors.Is(res.Err, registry.ErrStop) {
		t.Fatalf("run 3: err = %v, want ErrStop", res.Err)
	}

	// Fourth run: Ctrl-C at the prompt also ends it.
	at = out.mark()
	done = run(nodetest.In{})
	out.waitFor(t, "you> ", at)
	io.WriteString(ptmx, "\x03")
	if res := <-done; !errors.Is(res.Err, registry.ErrStop) {
		t.Fatalf("run 4: err = %v, want ErrStop", res.Err)
	}
}

func TestTermChatShowsUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	env := registry.Env{Stdin: strings.NewReader("next\n"), Stdout: &stdout, Stderr: &stderr}
	n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: env})
	res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"answer": nodetest.Chunks("Hi"),
		"usage":  nodetest.Chunks(map[string]any{"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}),
	}})
	if res.Err != nil || res.Out() != "next" {
		t.Fatalf("prompt %v, err %v", res.Out(), res.Err)
	}
	if stdout.String() != "Hi\n" || stderr.String() != "[12 prompt + 30 completion tokens]\n" {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

// TestTermChatPipeMarks checks, outside a terminal, the note on stderr for
// an answer cut at max_tokens (and none for a complete one), the
// reasoning on stderr with show_reasoning (and nowhere without), and that
// the end of input after no failed answer is a clean stop.
func TestTermChatPipeMarks(t *testing.T) {
	t.Parallel()
	for _, show := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		env := registry.Env{Stdin: strings.NewReader("a\nb\n"), Stdout: &stdout, Stderr: &stderr}
		n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: env, Params: map[string]any{"show_reasoning": show}})
		res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
			"answer":        nodetest.Chunks("Once upon", " a"),
			"finish_reason": nodetest.Chunks("length"),
			"reasoning":     nodetest.Chunks("The user", " wants a story."),
		}})
		if res.Err != nil || res.Out() != "a" {
			t.Fatalf("show_reasoning %v: run 1: prompt %v, err %v", show, res.Out(), res.Err)
		}
		wantErr := "note: the answer was cut at max_tokens (finish_reason length)\n"
		if show {
			wantErr = "The user wants a story.\n" + wantErr
		}
		if stdout.String() != "Once upon a\n" || stderr.String() != wantErr {
			t.Errorf("show_reasoning %v: stdout %q stderr %q; want %q %q", show, stdout.String(), stderr.String(), "Once upon a\n", wantErr)
		}
		stdout.Reset()
		stderr.Reset()
		res = n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
			"answer":        nodetest.Chunks("The end."),
			"finish_reason": nodetest.Chunks("stop"),
		}})
		if res.Err != nil || stdout.String() != "The end.\n" || stderr.String() != "" {
			t.Errorf("show_reasoning %v: run 2: err %v stdout %q stderr %q", show, res.Err, stdout.String(), stderr.String())
		}
		res = n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{"answer": nodetest.Chunks("Bye.")}})
		if !errors.Is(res.Err, registry.ErrStop) {
			t.Errorf("show_reasoning %v: end of input after good answers: err %v, want ErrStop", show, res.Err)
		}
	}
}

func TestTermChatAnswerRestarts(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	answers := new(registry.AnswerTally)
	env := registry.Env{Stdin: strings.NewReader("next\n"), Stdout: &stdout, Stderr: &stderr, Answers: answers}
	n := nodetest.New(t, chatLookup(t, "term.chat"), nodetest.Setup{Env: env})
	if spec := chatLookup(t, "term.chat"); !spec.Stateful || !spec.Restartable {
		t.Fatalf("term.chat: Stateful %v Restartable %v, want both", spec.Stateful, spec.Restartable)
	}
	// The answer's stream starts over after two chunks: the run ends with
	// ErrRestarted, which the engine answers by running it again on the
	// new stream.
	res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"answer": nodetest.Chunks("Once", " up").Fail(fmt.Errorf("read: %w", registry.ErrRestarted)),
	}})
	if !errors.Is(res.Err, registry.ErrRestarted) {
		t.Fatalf("restarted run: err %v, want ErrRestarted", res.Err)
	}
	res = n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"answer":        nodetest.Chunks("A long", " time ago."),
		"finish_reason": nodetest.Chunks("stop"),
	}})
	if res.Err != nil || res.Out() != "next" {
		t.Fatalf("new run: prompt %v, err %v; want next", res.Out(), res.Err)
	}
	if want := "Once up" + restartMark + "\nA long time ago.\n"; stdout.String() != want || stderr.String() != "" {
		t.Errorf("stdout %q stderr %q, want %q and nothing", stdout.String(), stderr.String(), want)
	}
	// One answer, counted once: the tally fails only when an answer
	// failed, so fail the next one to read the count.
	answers.Add(true)
	if err := answers.Err(); err == nil || err.Error() != "1 of 2 answers failed" {
		t.Errorf("answer tally: %v, want 1 of 2 answers failed (the restarted answer counted once)", err)
	}
}
