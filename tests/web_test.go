package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/internal/webchat"
)

// The web chatbot tests run flows/chatbot-web.yaml through the CLI
// in-process against the fake LLM server, and drive its HTTP protocol as
// the page does (web_browser_test.go drives the page itself in
// headless Chromium).

const chatbotWebFlow = "../flows/chatbot-web.yaml"

// urlWriter is the flow's stderr: it finds the page's address.
type urlWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	url  chan string
	sent bool
}

var pageLine = regexp.MustCompile(`chat page at (http://\S+/)`)

func (w *urlWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := pageLine.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.url <- m[1]
	}
	return len(p), nil
}

func (w *urlWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startWebChat runs chatbot-web.yaml against llm on a free port and
// returns the page's address. The flow is stopped when the test ends
// (as Ctrl-C does), and must then end within a minute.
func startWebChat(t *testing.T, llm *llmtest.Server) string {
	t.Helper()
	setChatEnv(t, llm.URL())
	t.Setenv("FLOWRUN_WEB_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &urlWriter{url: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- flowcli.Main(ctx, []string{"flowrun", "run", chatbotWebFlow}, nil, strings.NewReader(""), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Errorf("the web chat did not end within a minute of its stop\nstderr:\n%s", stderr.String())
		}
	})
	select {
	case u := <-stderr.url:
		return u
	case code := <-done:
		t.Fatalf("the web chat ended (exit %d) before serving its page\nstderr:\n%s", code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatalf("no page address on stderr within a minute:\n%s", stderr.String())
	}
	return ""
}

// sseClient reads a page's event stream.
type sseClient struct {
	events chan webchat.Event
}

func openEvents(t *testing.T, base string, lastID int64) *sseClient {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"api/events", nil)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET api/events: %s", resp.Status)
	}
	c := &sseClient{events: make(chan webchat.Event, 256)}
	go func() {
		defer close(c.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e webchat.Event
				if json.Unmarshal([]byte(data), &e) != nil {
					return
				}
				c.events <- e
			}
		}
	}()
	return c
}

// until reads events up to the first that matches, and returns them all
// as "type:turn:text" (with " [interrupted]" on a cut end).
func (c *sseClient) until(t *testing.T, match func(webchat.Event) bool) []string {
	t.Helper()
	var seen []string
	timeout := time.After(time.Minute)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				t.Fatalf("the event stream ended; seen: %q", seen)
			}
			s := fmt.Sprintf("%s:%d:%s", e.Type, e.Turn, e.Text)
			if e.Interrupted {
				s += " [interrupted]"
			}
			if e.Usage != nil {
				s += fmt.Sprint(e.Usage["completion_tokens"])
			}
			seen = append(seen, s)
			if match(e) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no matching event within a minute; seen: %q", seen)
		}
	}
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebChat: a prompt submitted while an answer streams is accepted at
// once and answered in order; Stop cuts the answer in flight, which is
// kept marked in the conversation; two pages see the same events; a
// reconnecting page gets the history.
func TestWebChat(t *testing.T) {
	// The first answer streams "Once" then waits (for Stop); the second
	// is whole.
	first := llmtest.Stream("Once", " upon")
	first.Steps = append(first.Steps[:2:2], llmtest.Sleep(10*time.Minute))
	llm := llmtest.New(t, first, llmtest.Stream("Fine", "."))
	base := startWebChat(t, llm)

	a, b := openEvents(t, base, 0), openEvents(t, base, 0)
	if code, body := postJSON(t, base+"api/prompt", `{"text": "Tell a story"}`); code != 202 {
		t.Fatalf("first prompt: %d %s", code, body)
	}
	isChunk := func(e webchat.Event) bool { return e.Type == "chunk" }
	seenA := a.until(t, isChunk)
	// The answer is streaming: the second prompt is accepted at once.
	if code, body := postJSON(t, base+"api/prompt", `{"text": "How are you?"}`); code != 202 || !strings.Contains(body, `"turn":2`) {
		t.Fatalf("second prompt while streaming: %d %s", code, body)
	}
	seenA = append(seenA, a.until(t, func(e webchat.Event) bool { return e.Type == "prompt" && e.Turn == 2 })...)
	if code, body := postJSON(t, base+"api/stop", `{}`); code != 200 || body != "{\"cut\":1}\n" {
		t.Fatalf("stop: %d %q", code, body)
	}
	isLastEnd := func(e webchat.Event) bool { return e.Type == "end" && e.Turn == 2 }
	seenA = append(seenA, a.until(t, isLastEnd)...)
	want := []string{
		"reset:0:", "prompt:1:Tell a story", "start:1:", "chunk:1:Once",
		"prompt:2:How are you?",
		"end:1: [interrupted]",
		"start:2:", "chunk:2:Fine", "chunk:2:.", "usage:2:2", "end:2:",
	}
	if strings.Join(seenA, "|") != strings.Join(want, "|") {
		t.Fatalf("page a saw\n%q\nwant\n%q", seenA, want)
	}
	if seenB := b.until(t, isLastEnd); strings.Join(seenB, "|") != strings.Join(want, "|") {
		t.Errorf("page b saw\n%q\nwant\n%q", seenB, want)
	}
	// A reload shows the whole conversation; a reconnection what it missed.
	if seen := openEvents(t, base, 0).until(t, isLastEnd); strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("a reloaded page saw\n%q\nwant\n%q", seen, want)
	}
	if seen := openEvents(t, base, 7).until(t, isLastEnd); strings.Join(seen, "|") != strings.Join(want[8:], "|") {
		t.Errorf("a page reconnecting after event 7 saw\n%q\nwant\n%q", seen, want[8:])
	}
	// The cut answer stayed in the conversation, marked.
	msgs := requestMessages(t, llm.Requests())
	if len(msgs) != 2 {
		t.Fatalf("%d requests, want 2", len(msgs))
	}
	wantConv := []chatMsg{{"system", chatSystem}, {"user", "Tell a story"}, {"assistant", "Once [interrupted]"}, {"user", "How are you?"}}
	if fmt.Sprint(msgs[1]) != fmt.Sprint(wantConv) {
		t.Errorf("second request's messages %v, want %v", msgs[1], wantConv)
	}
}

// TestWebChatFailure: a failed answer shows its error inline and the chat
// goes on.
func TestWebChatFailure(t *testing.T) {
	llm := llmtest.New(t, llmtest.Error(400, `{"error": {"message": "model <x> not found"}}`), llmtest.Stream("Yes."))
	base := startWebChat(t, llm)
	c := openEvents(t, base, 0)
	postJSON(t, base+"api/prompt", `{"text": "Hello"}`)
	seen := c.until(t, func(e webchat.Event) bool { return e.Type == "end" })
	if len(seen) != 5 || !strings.HasPrefix(seen[3], "error:1:") || !strings.Contains(seen[3], "model <x> not found") {
		t.Fatalf("a failed answer showed %q, want reset, prompt, start, error, end", seen)
	}
	postJSON(t, base+"api/prompt", `{"text": "Are you there?"}`)
	seen = c.until(t, func(e webchat.Event) bool { return e.Type == "end" })
	if strings.Join(seen, "|") != "prompt:2:Are you there?|start:2:|chunk:2:Yes.|usage:2:1|end:2:" {
		t.Fatalf("after the failure: %q", seen)
	}
}
