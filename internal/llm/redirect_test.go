package llm_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/internal/llm"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/internal/redirect"
)

// redirector is a local server whose /v1/chat/completions answers with a
// redirect to target (set after it starts), and whose
// /same/chat/completions answers "hi" itself, recording the Authorization
// header it got.
type redirector struct {
	srv    *httptest.Server
	mu     sync.Mutex
	target string
	hits   int
	auth   []string
}

func newRedirector(t *testing.T, tls bool) *redirector {
	r := &redirector{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.hits++
		switch req.URL.Path {
		case "/v1/chat/completions":
			http.Redirect(w, req, r.target, http.StatusTemporaryRedirect)
		case "/same/chat/completions":
			r.auth = append(r.auth, req.Header.Get("Authorization"))
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte(`data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"))
		}
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *redirector) counts() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, append([]string(nil), r.auth...)
}

// TestRedirects: the API key reaches the origin it was meant for, never
// another one (here a server on another port); HTTPS to HTTP is refused;
// the redirect limit holds; refusals are not retried.
func TestRedirects(t *testing.T) {
	t.Parallel()
	stream := func(t *testing.T, base string, hc *http.Client, max int) (llm.Result, error) {
		c := &llm.Client{BaseURL: base, APIKey: testKey, HTTPClient: hc, Redirects: redirect.Policy{Max: max}}
		return c.Stream(t.Context(), basicRequest(), func(llm.Delta) error { return nil })
	}

	t.Run("same origin keeps the key", func(t *testing.T) {
		a := newRedirector(t, false)
		a.target = a.srv.URL + "/same/chat/completions"
		res, err := stream(t, a.srv.URL+"/v1", nil, 0)
		if err != nil || res.Content != "hi" {
			t.Fatalf("got %q, %v", res.Content, err)
		}
		if _, auth := a.counts(); len(auth) != 1 || auth[0] != "Bearer "+testKey {
			t.Errorf("Authorization at the same origin = %q", auth)
		}
	})

	t.Run("other port loses the key", func(t *testing.T) {
		a := newRedirector(t, false)
		b := llmtest.New(t, llmtest.Stream("from b"))
		a.target = b.URL() + "/chat/completions"
		res, err := stream(t, a.srv.URL+"/v1", nil, 0)
		if err != nil || res.Content != "from b" {
			t.Fatalf("got %q, %v", res.Content, err)
		}
		reqs := b.Requests()
		if len(reqs) != 1 {
			t.Fatalf("b saw %d requests", len(reqs))
		}
		if got := reqs[0].Header.Get("Authorization"); got != "" {
			t.Errorf("the key went to another origin: Authorization %q", got)
		}
		if reqs[0].Method != http.MethodPost || reqs[0].Body["model"] != "test-model" {
			t.Errorf("307 did not keep the POST and its body: %s %v", reqs[0].Method, reqs[0].Body)
		}
	})

	t.Run("https to http is refused and not retried", func(t *testing.T) {
		a := newRedirector(t, true)
		b := llmtest.New(t)
		a.target = b.URL() + "/chat/completions"
		_, err := stream(t, a.srv.URL+"/v1", a.srv.Client(), 0)
		if !errors.Is(err, redirect.ErrRefused) || !strings.Contains(err.Error(), "from HTTPS to plain HTTP") {
			t.Fatalf("err = %v, want a refused redirect", err)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks the key: %v", err)
		}
		if hits, _ := a.counts(); hits != 1 || b.Count() != 0 {
			t.Errorf("%d requests to the HTTPS server (want 1), %d to the HTTP one (want 0)", hits, b.Count())
		}
	})

	t.Run("limit", func(t *testing.T) {
		a := newRedirector(t, false)
		a.target = a.srv.URL + "/v1/chat/completions" // itself
		_, err := stream(t, a.srv.URL+"/v1", nil, 2)
		if !errors.Is(err, redirect.ErrTooMany) || !strings.Contains(err.Error(), "too many redirects: stopped after 2") {
			t.Fatalf("err = %v, want too many redirects", err)
		}
		if hits, _ := a.counts(); hits != 3 {
			t.Errorf("%d requests, want 3 (the first and 2 redirects), without retries", hits)
		}
	})
}
