package builtin

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/secret"
)

// redirectServers are local servers on different ports, so different
// origins: a and b speak HTTP, tls HTTPS. Each has the paths
//
//	/echo        answers the request's method, body and headers as JSON
//	/to?u=URL    redirects to URL (status from &code=, default 302)
//	/loop        redirects to itself
type redirectServers struct {
	a, b, tls *httptest.Server
	hits      sync.Map // server URL + path -> *atomic.Int64
}

func (rs *redirectServers) count(srv *httptest.Server, path string) int64 {
	v, _ := rs.hits.LoadOrStore(srv.URL+path, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func newRedirectServers(t *testing.T) *redirectServers {
	rs := &redirectServers{}
	handler := func(self **httptest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := rs.hits.LoadOrStore((*self).URL+r.URL.Path, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			switch r.URL.Path {
			case "/echo":
				body, _ := io.ReadAll(r.Body)
				headers := map[string]any{}
				for name := range r.Header {
					headers[name] = r.Header.Get(name)
				}
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(body), "headers": headers})
			case "/to":
				code := http.StatusFound
				if c := r.URL.Query().Get("code"); c == "307" {
					code = http.StatusTemporaryRedirect
				}
				http.Redirect(w, r, r.URL.Query().Get("u"), code)
			case "/loop":
				http.Redirect(w, r, "/loop", http.StatusFound)
			}
		})
	}
	rs.a = httptest.NewServer(handler(&rs.a))
	rs.b = httptest.NewServer(handler(&rs.b))
	rs.tls = httptest.NewTLSServer(handler(&rs.tls))
	for _, s := range []*httptest.Server{rs.a, rs.b, rs.tls} {
		t.Cleanup(s.Close)
	}
	return rs
}

func to(from *httptest.Server, target string, code string) string {
	return from.URL + "/to?code=" + code + "&u=" + url.QueryEscape(target)
}

// TestHTTPRequestRedirects sends a request with credentials of every kind
// through redirects between two local servers on different ports (and a
// TLS server): they reach the same origin, never another.
func TestHTTPRequestRedirects(t *testing.T) {
	rs := newRedirectServers(t)
	const (
		envToken      = "tok-from-the-environment"
		literalSecret = "literal-but-from-${SECRET}"
	)
	secrets := secret.NewSet()
	secrets.Add(envToken)
	secrets.Add(literalSecret)
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	env := registry.Env{
		HTTPClient: rs.tls.Client(), // trusts the TLS server; speaks plain HTTP too
		Getenv:     func(k string) string { return map[string]string{"TOKEN": envToken}[k] },
		Secrets:    secrets,
		Logger:     slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	params := map[string]any{"headers_env": map[string]any{"X-Api-Key": "TOKEN"}}
	headers := map[string]any{
		"Authorization":       "Bearer literal-token",
		"Cookie":              "session=abc123",
		"Proxy-Authorization": "Basic cHJveHk6cHc=",
		"X-Literal":           literalSecret,
		"X-Trace":             "trace-1",
	}
	credentials := []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key", "X-Literal"}
	spec := lookup(t, "http.request")
	run := func(t *testing.T, params map[string]any, method, url string) *nodetest.Result {
		t.Helper()
		n := nodetest.New(t, spec, nodetest.Setup{Params: params, Env: env})
		return n.Run(t, nodetest.In{Values: map[string]any{"url": url, "method": method, "headers": headers, "body": map[string]any{"q": 1}}})
	}
	received := func(t *testing.T, res *nodetest.Result) map[string]any {
		t.Helper()
		if res.Err != nil {
			t.Fatalf("run failed: %v", res.Err)
		}
		out, ok := res.Final["out"].(map[string]any)
		if !ok {
			t.Fatalf("out = %v, want the echo", res.Final["out"])
		}
		return out["headers"].(map[string]any)
	}

	t.Run("same origin keeps every header", func(t *testing.T) {
		got := received(t, run(t, params, "GET", to(rs.a, rs.a.URL+"/echo", "302")))
		for _, h := range append(credentials, "X-Trace") {
			if got[h] == nil {
				t.Errorf("%s was not sent to the same origin", h)
			}
		}
	})

	others := []struct{ name, code, method, target string }{
		{"other port", "302", "GET", rs.b.URL + "/echo"},
		{"other port, 307 keeps the method and body", "307", "POST", rs.b.URL + "/echo"},
		{"other host, same port", "302", "GET", strings.Replace(rs.a.URL, "127.0.0.1", "localhost", 1) + "/echo"},
		{"http to https", "302", "GET", rs.tls.URL + "/echo"},
	}
	for _, o := range others {
		t.Run(o.name, func(t *testing.T) {
			res := run(t, params, o.method, to(rs.a, o.target, o.code))
			got := received(t, res)
			for _, h := range credentials {
				if got[h] != nil {
					t.Errorf("%s = %q was sent to another origin", h, got[h])
				}
			}
			if got["X-Trace"] != "trace-1" {
				t.Errorf("X-Trace = %v, want it kept", got["X-Trace"])
			}
			out := res.Final["out"].(map[string]any)
			if o.code == "307" && (out["method"] != "POST" || out["body"] != `{"q":1}`) {
				t.Errorf("after a 307: method %v body %v, want POST with the body", out["method"], out["body"])
			}
		})
	}

	t.Run("https to http is refused", func(t *testing.T) {
		before := rs.count(rs.b, "/echo")
		res := run(t, params, "GET", to(rs.tls, rs.b.URL+"/echo", "302"))
		checkResult(t, res, nil, "from HTTPS to plain HTTP, which would send the request unencrypted")
		if n := rs.count(rs.b, "/echo"); n != before {
			t.Errorf("the HTTP server got %d requests", n-before)
		}
	})

	t.Run("limit", func(t *testing.T) {
		for _, tc := range []struct {
			max  any
			hits int64
			want string
		}{
			{3, 4, "too many redirects: stopped after 3 (max_redirects raises the limit)"},
			{nil, 11, "too many redirects: stopped after 10 (max_redirects raises the limit)"},
		} {
			before := rs.count(rs.a, "/loop")
			p := map[string]any{"max_redirects": tc.max}
			checkResult(t, run(t, p, "GET", rs.a.URL+"/loop"), nil, "GET "+rs.a.URL+"/loop: "+tc.want)
			if n := rs.count(rs.a, "/loop") - before; n != tc.hits {
				t.Errorf("max_redirects %v: %d requests, want %d", tc.max, n, tc.hits)
			}
		}
	})

	t.Run("max_redirects 0 gives the redirect response", func(t *testing.T) {
		before := rs.count(rs.b, "/echo")
		res := run(t, map[string]any{"max_redirects": 0}, "GET", to(rs.a, rs.b.URL+"/echo", "302"))
		if res.Err != nil || res.Final["status"] != http.StatusFound {
			t.Fatalf("status %v, err %v; want 302 and no error", res.Final["status"], res.Err)
		}
		if n := rs.count(rs.b, "/echo"); n != before {
			t.Errorf("the redirect was followed")
		}
	})

	logMu.Lock()
	log := logBuf.String()
	logMu.Unlock()
	if !strings.Contains(log, `dropped="Authorization, Cookie, Proxy-Authorization, X-Api-Key, X-Literal"`) {
		t.Errorf("debug log does not name the dropped headers:\n%s", log)
	}
	if secrets.Contains(log) {
		t.Errorf("debug log holds a secret:\n%s", log)
	}
}

func TestHTTPRequestMaxRedirectsParam(t *testing.T) {
	for _, v := range []any{-1, 101, 2.5, "x"} {
		wantParamError(t, buildErr(t, "http.request", nodetest.Setup{Params: map[string]any{"max_redirects": v}}), "max_redirects", "want a whole number from 0 to 100")
	}
	for _, v := range []any{0, 1, 100, 20.0} {
		if err := buildErr(t, "http.request", nodetest.Setup{Params: map[string]any{"max_redirects": v}}); err != nil {
			t.Errorf("max_redirects %v: %v", v, err)
		}
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestLLMChatRedirects: llm.chat keeps its API key from a server on
// another port it is redirected to, and max_redirects 0 refuses the
// redirect.
func TestLLMChatRedirects(t *testing.T) {
	b := llmtest.New(t, llmtest.Stream("from b"))
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL()+"/chat/completions", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(a.Close)
	spec := chatLookup(t, "llm.chat")
	env := chatEnv(map[string]string{"OPENAI_BASE_URL": a.URL + "/v1", "OPENAI_API_KEY": chatTestKey})

	n := nodetest.New(t, spec, nodetest.Setup{Env: env})
	res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	if res.Err != nil || res.Final["out"] != "from b" {
		t.Fatalf("out %v, err %v", res.Final["out"], res.Err)
	}
	if got := b.Requests()[0].Header.Get("Authorization"); got != "" {
		t.Errorf("the API key went to another origin: %q", got)
	}

	n = nodetest.New(t, spec, nodetest.Setup{Env: env, Params: map[string]any{"max_redirects": 0}})
	res = n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	checkResult(t, res, nil, "HTTP 307 temporary redirect")
	if b.Count() != 1 {
		t.Errorf("b saw %d requests, want 1", b.Count())
	}
	wantParamError(t, buildErr(t, "llm.chat", nodetest.Setup{Params: map[string]any{"max_redirects": 101}}), "max_redirects", "want a whole number from 0 to 100")
}
