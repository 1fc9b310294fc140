package llm_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/internal/llm"
	"github.com/flowrun/flowrun/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRealServer starts tests/llmserver/server.mjs on a free port with
// the test model and returns its base URL ("http://127.0.0.1:PORT"). It
// skips the test when node, the server's node_modules or the model file is
// missing. The model is FLOWRUN_TEST_GGUF, by default
// ../shared/models/stories260K.gguf beside the repository.
func startRealServer(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	dir := filepath.Join(root, "tests", "llmserver")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-llama-cpp")); err != nil {
		testenv.Missing(t, "tests/llmserver/node_modules is missing: run scripts/test-deps.sh (or make test)")
	}
	model := os.Getenv("FLOWRUN_TEST_GGUF")
	if model == "" {
		model = filepath.Join(root, "..", "shared", "models", "stories260K.gguf")
	}
	if _, err := os.Stat(model); err != nil {
		testenv.Missing(t, "test model %s is missing (set FLOWRUN_TEST_GGUF)", model)
	}

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODEL_PATH="+model, "PORT=0", "NODE_LLAMA_CPP_SKIP_DOWNLOAD=true")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})

	// Wait for the "listening on" line; the model loads in about 1.5 s.
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- u
				break
			}
		}
		close(addr)
		for sc.Scan() { // keep draining so the server never blocks on stdout
		}
	}()
	select {
	case u, ok := <-addr:
		if !ok {
			t.Fatalf("server exited before listening; stderr:\n%s", stderr.String())
		}
		return u
	case <-time.After(90 * time.Second):
		t.Fatalf("server did not listen within 90 s; stderr:\n%s", stderr.String())
	}
	return ""
}

// TestRealModel streams real tokens from stories260K through the client,
// over three turns of a growing conversation, then checks that a cancelled
// stream aborts the generation and leaves the server ready.
func TestRealModel(t *testing.T) {
	root := startRealServer(t)
	c := &llm.Client{BaseURL: root + "/v1", IdleTimeout: 30 * time.Second}

	history := []llm.Message{{Role: "system", Content: "You tell stories."}}
	for turn, prompt := range []string{"Once upon a time", "Lily went to the park", "The end"} {
		history = append(history, llm.Message{Role: "user", Content: prompt})
		var deltas int
		start := time.Now()
		var ttft time.Duration
		res, err := c.Stream(t.Context(), llm.Request{Model: "stories260K", Messages: history, MaxTokens: 30, IncludeUsage: true},
			func(d llm.Delta) error {
				if deltas == 0 {
					ttft = time.Since(start)
				}
				deltas++
				return nil
			})
		if err != nil {
			t.Fatalf("turn %d: %v", turn+1, err)
		}
		t.Logf("turn %d: %d deltas, first after %v, finish %s, usage %+v: %q", turn+1, deltas, ttft, res.FinishReason, res.Usage, res.Content)
		if deltas < 2 || strings.TrimSpace(res.Content) == "" {
			t.Errorf("turn %d: %d deltas, content %q: want real streamed tokens", turn+1, deltas, res.Content)
		}
		if !res.Done || (res.FinishReason != "length" && res.FinishReason != "stop") {
			t.Errorf("turn %d: done %v finish %q", turn+1, res.Done, res.FinishReason)
		}
		if res.Usage == nil || res.Usage.CompletionTokens == 0 || res.Usage.CompletionTokens > 30 ||
			(res.FinishReason == "length" && res.Usage.CompletionTokens != 30) {
			t.Errorf("turn %d: usage %+v", turn+1, res.Usage)
		}
		history = append(history, llm.Message{Role: "assistant", Content: res.Content})
	}

	// The server saw the conversation grow: 2, 4, then 6 messages.
	resp, err := http.Get(root + "/debug/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen [][]llm.Message
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(seen))
	}
	for i, msgs := range seen {
		if len(msgs) != 2*i+2 {
			t.Errorf("request %d had %d messages, want %d", i+1, len(msgs), 2*i+2)
		}
	}
	if seen[2][4].Role != "assistant" || seen[2][4].Content != history[4].Content {
		t.Errorf("request 3 does not carry the second answer: %+v", seen[2])
	}

	// Cancel a long answer after its first piece; the next request is
	// answered at once, so the generation was aborted.
	ctx, cancel := context.WithCancel(t.Context())
	_, err = c.Stream(ctx, llm.Request{Messages: history[:2], MaxTokens: 480}, func(llm.Delta) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled stream: err = %v", err)
	}
	start := time.Now()
	res, err := c.Stream(t.Context(), llm.Request{Messages: history[:2], MaxTokens: 5}, func(llm.Delta) error { return nil })
	if err != nil || res.Content == "" {
		t.Fatalf("after a cancel: %q, %v", res.Content, err)
	}
	t.Logf("request after a cancelled one answered in %v", time.Since(start))
}
