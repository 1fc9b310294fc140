package cluster_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/registry"
)

// watchBuffer is a buffer that closes seen once it holds want.
type watchBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (b *watchBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.seen != nil && strings.Contains(b.buf.String(), b.want) {
		close(b.seen)
		b.seen = nil
	}
	return n, err
}

func (b *watchBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestChatAnswerStartsOverWhenLLMWorkerDies runs the chatbot's cycle
// (term.chat, chat.history, llm.chat) with llm.chat on a worker, which is
// killed mid-answer: the run goes to another worker, the server answers
// something else, and term.chat, stateful but restartable, marks the
// partial answer and prints the new one whole; the chat goes on to the
// next prompt, the history holds only the new answer, and the flow ends
// cleanly.
func TestChatAnswerStartsOverWhenLLMWorkerDies(t *testing.T) {
	url := server(t)
	// The first answer stops after two pieces until its client (the
	// killed worker) goes away.
	partial := llmtest.Stream("Once", " up")
	partial.Steps = append(partial.Steps[:3:3], llmtest.Hang())
	llm := llmtest.New(t, partial, llmtest.Stream("A long", " time ago."), llmtest.Stream("Bye."))
	h := newHooks(0)
	// One worker at first: the one that takes reply's run.
	workers := startWorkers(t, url, h, 1, time.Second)
	ex, flow := coordinator(t, url, h, fmt.Sprintf(`version: 1
nodes:
  chat: {type: term.chat, inputs: {answer: reply, finish_reason: reply.finish_reason}}
  history: {type: chat.history, inputs: {prompt: chat.prompt, answer: reply, finish_reason: reply.finish_reason}, with: {system: Be brief.}}
  reply: {type: llm.chat, inputs: {messages: history.messages}, with: {base_url: %q}}
`, llm.URL()), cluster.ExecutorOptions{})
	if p := flow.Node("reply").Placement; p == "local" {
		t.Fatalf("reply's placement %q: the test needs llm.chat on a worker", p)
	}
	stdout := &watchBuffer{want: "Once up", seen: make(chan struct{})}
	seen := stdout.seen
	var stderr syncBuffer
	done := make(chan runOutcome, 1)
	go func() {
		res, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex, Env: registry.Env{
			Stdin: strings.NewReader("Tell me a story\nThanks\n"), Stdout: stdout, Stderr: &stderr,
		}})
		done <- runOutcome{res, err}
	}()
	select {
	case <-seen:
	case o := <-done:
		t.Fatalf("the run ended before the partial answer was shown: %v\nstdout %q", o.err, stdout.String())
	}
	// The worker streaming the answer dies; another takes its run.
	workers["w1"].kill()
	reg := builtins(t)
	startKillable(t, url, cluster.WorkerOptions{Registry: reg, ID: "w2", AckWait: time.Second})
	o := <-done
	if o.err != nil {
		t.Fatalf("run: %v\nstdout %q\nstderr %q", o.err, stdout.String(), stderr.String())
	}
	want := "Once up [the answer was lost mid-stream; it starts over]\nA long time ago.\nBye.\n"
	if got := stdout.String(); got != want {
		t.Errorf("term.chat printed\n%q\nwant\n%q", got, want)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr %q, want nothing", s)
	}
	// The second request carries the history: only the new answer.
	reqs := llm.Requests()
	if len(reqs) != 3 {
		t.Fatalf("the server saw %d requests, want 3 (the lost answer, its new run, the next prompt's)", len(reqs))
	}
	wantMsgs := []any{
		map[string]any{"role": "system", "content": "Be brief."},
		map[string]any{"role": "user", "content": "Tell me a story"},
		map[string]any{"role": "assistant", "content": "A long time ago."},
		map[string]any{"role": "user", "content": "Thanks"},
	}
	if got := reqs[2].Body["messages"]; !reflect.DeepEqual(got, wantMsgs) {
		t.Errorf("the next prompt's request had messages %v, want %v", got, wantMsgs)
	}
	if !reqs[0].Left {
		t.Errorf("the first request was not left by its client: the killed worker still streamed it?")
	}
	if g := o.res.Generations; g["reply"] != 2 || g["chat"] != 3 {
		t.Errorf("generations %v, want reply 2 and chat 3 (the restarted answer counted once)", g)
	}
}
