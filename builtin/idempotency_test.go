package builtin

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// TestHTTPRequestSendsIdempotencyKey checks http.request sends its run's
// idempotency key as the Idempotency-Key header, lets the headers input
// replace it, and sends none when the run has no key.
func TestHTTPRequestSendsIdempotencyKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	n := nodetest.New(t, lookup(t, "http.request"), nodetest.Setup{Env: registry.Env{HTTPClient: srv.Client()}})
	for _, in := range []nodetest.In{
		{Values: map[string]any{"url": srv.URL, "method": "POST"}, IdempotencyKey: "3f2a/pay/0"},
		{Values: map[string]any{"url": srv.URL, "method": "POST", "headers": map[string]any{"Idempotency-Key": "mine"}}, IdempotencyKey: "3f2a/pay/1"},
		{Values: map[string]any{"url": srv.URL}},
	} {
		if res := n.Run(t, in); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	want := []string{"3f2a/pay/0", "mine", ""}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("headers %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: Idempotency-Key %q, want %q", i+1, got[i], want[i])
		}
	}
}

// TestLLMChatSendsIdempotencyKey checks llm.chat sends its run's
// idempotency key as the Idempotency-Key header, the same on a retry of
// the request.
func TestLLMChatSendsIdempotencyKey(t *testing.T) {
	t.Parallel()
	busy := llmtest.Error(http.StatusServiceUnavailable, `{"error":{"message":"busy"}}`)
	busy.Header = map[string]string{"Retry-After": "0"}
	s := llmtest.New(t, busy, llmtest.Stream("hi"))
	n := nodetest.New(t, chatLookup(t, "llm.chat"), nodetest.Setup{
		Env: chatEnv(map[string]string{"OPENAI_BASE_URL": s.URL(), "OPENAI_API_KEY": chatTestKey}),
	})
	res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}, IdempotencyKey: "3f2a/answer/4"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (one retry)", len(reqs))
	}
	for i, r := range reqs {
		if k := r.Header.Get("Idempotency-Key"); k != "3f2a/answer/4" {
			t.Errorf("request %d: Idempotency-Key %q, want %q", i+1, k, "3f2a/answer/4")
		}
	}
	s.Push(llmtest.Stream("again"))
	if res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if r := s.Requests()[2]; r.Header.Values("Idempotency-Key") != nil {
		t.Errorf("a run without a key sent Idempotency-Key %q", r.Header.Values("Idempotency-Key"))
	}
}
