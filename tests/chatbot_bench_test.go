package tests

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/internal/llm"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/registry"
)

// BenchmarkTimeToFirstToken measures the time to the first token of an
// answer from the fake server of internal/llm/llmtest, on 127.0.0.1:
//
//   - direct: the internal/llm client, from the call to the first delta;
//   - flowrun: flows/chatbot.yaml running in-process (graph.Load and
//     engine.Run with the built-in registry) with stdin a pipe, from
//     writing the prompt line to the first byte of the answer on the
//     flow's stdout.
//
// Both send the same conversation: the flow runs with history.max_turns=1,
// so every request is the system prompt, one exchange and the new prompt,
// and the direct client sends a conversation of that shape. ns/op is the
// mean time to first token (the rest of each answer is not counted). The
// benchmark fails when flowrun misses the target: within 1 ms of direct.
//
//	go test ./tests -run XXX -bench TimeToFirstToken -count 5
func BenchmarkTimeToFirstToken(b *testing.B) {
	answer := llmtest.Stream("Hello", " there", ", human.")
	msgs := []llm.Message{{Role: "system", Content: chatSystem}, {Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello there, human."}, {Role: "user", Content: "Hi"}}
	var direct, flowrun time.Duration // the mean of each sub-benchmark's last run

	b.Run("direct", func(b *testing.B) {
		srv := llmtest.New(b)
		srv.SetFallback(answer)
		c := &llm.Client{BaseURL: srv.URL()}
		req := llm.Request{Model: chatModel, Messages: msgs, IncludeUsage: true}
		var total time.Duration
		for range b.N {
			start := time.Now()
			var first time.Duration
			_, err := c.Stream(b.Context(), req, func(llm.Delta) error {
				if first == 0 {
					first = time.Since(start)
				}
				return nil
			})
			if err != nil || first == 0 {
				b.Fatalf("stream: %v (first delta after %v)", err, first)
			}
			total += first
		}
		direct = total / time.Duration(b.N)
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
	})

	b.Run("flowrun", func(b *testing.B) {
		srv := llmtest.New(b)
		srv.SetFallback(answer)
		env := map[string]string{"OPENAI_BASE_URL": srv.URL(), "OPENAI_MODEL": chatModel, "FLOWRUN_SYSTEM_PROMPT": chatSystem}
		getenv := func(k string) string { return env[k] }
		src, err := os.ReadFile(chatbotFlow)
		if err != nil {
			b.Fatal(err)
		}
		reg := registry.New()
		if err := builtin.Register(reg); err != nil {
			b.Fatal(err)
		}
		flow, err := graph.Load(chatbotFlow, src, reg, graph.Options{Getenv: getenv, Set: []string{"history.max_turns=1"}})
		if err != nil {
			b.Fatal(err)
		}
		stdin, prompts, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		defer stdin.Close()
		stdout := &ttftWriter{}
		ctx, cancel := context.WithCancel(b.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := engine.Run(ctx, flow, engine.Options{Env: registry.Env{
				Stdin: stdin, Stdout: stdout, Stderr: io.Discard}})
			done <- err
		}()

		var total time.Duration
		for i := range b.N + 1 { // the first turn warms up and is not counted
			first, line := stdout.arm()
			start := time.Now()
			if _, err := io.WriteString(prompts, "Hi\n"); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-first:
				if i > 0 {
					total += at.Sub(start)
				}
			case err := <-done:
				b.Fatalf("the flow ended before answering: %v", err)
			case <-time.After(10 * time.Second):
				b.Fatal("no answer within 10 s")
			}
			select {
			case <-line:
			case <-time.After(10 * time.Second):
				b.Fatal("the answer did not end within 10 s")
			}
		}
		flowrun = total / time.Duration(b.N)
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
		b.StopTimer()
		prompts.Close() // end of input ends the chat
		if err := <-done; err != nil {
			b.Fatalf("flow: %v", err)
		}
		if n := srv.Count(); n != b.N+1 {
			b.Fatalf("the server saw %d requests, want %d", n, b.N+1)
		}
	})

	if direct > 0 && flowrun > 0 {
		b.Logf("time to first token: direct %v, flowrun %v, difference %v", direct, flowrun, flowrun-direct)
		if flowrun-direct > time.Millisecond {
			b.Errorf("flowrun's time to first token %v is more than 1 ms above the direct client's %v", flowrun, direct)
		}
	}
}

// A ttftWriter is the flow's stdout: it reports the time of the first
// write after arm, and the end of the answer's line.
type ttftWriter struct {
	mu    sync.Mutex
	first chan time.Time
	line  chan struct{}
}

// arm prepares for the next answer.
func (w *ttftWriter) arm() (first <-chan time.Time, line <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.first, w.line = make(chan time.Time, 1), make(chan struct{}, 1)
	return w.first, w.line
}

func (w *ttftWriter) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first != nil && len(p) > 0 {
		w.first <- now
		w.first = nil
	}
	if w.line != nil && len(p) > 0 && p[len(p)-1] == '\n' {
		w.line <- struct{}{}
		w.line = nil
	}
	return len(p), nil
}
