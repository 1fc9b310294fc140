package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// serve starts a hub on an httptest server whose address the hub knows,
// as after Start.
func serve(t *testing.T, token string, interrupt func() int) (*Hub, *httptest.Server) {
	return serveConfig(t, Config{Token: token, Interrupt: interrupt})
}

func serveConfig(t *testing.T, cfg Config) (*Hub, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg.Addr = srv.Listener.Addr().String()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Acquire()
	srv.Config.Handler = h.Handler()
	srv.Start()
	t.Cleanup(func() {
		h.Release(context.Background())
		srv.Close()
	})
	return h, srv
}

// client is one page's event stream.
type client struct {
	resp   *http.Response
	events chan Event
}

// connect opens the event stream, sending lastID when it is not 0.
func connect(t *testing.T, srv *httptest.Server, lastID int64) *client {
	return connectBuffered(t, srv, lastID, 64)
}

// connectBuffered is connect with a reader that buffers n events.
func connectBuffered(t *testing.T, srv *httptest.Server, lastID int64, n int) *client {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/events", nil)
	if lastID != 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	c := &client{resp: resp, events: make(chan Event, n)}
	done := make(chan struct{})
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e Event
			if json.Unmarshal([]byte(data), &e) != nil {
				return // cut mid-event when the test ends
			}
			select {
			case c.events <- e:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); resp.Body.Close() })
	return c
}

// next returns the next event, failing the test at the end of the stream.
func (c *client) next(t *testing.T) Event {
	t.Helper()
	e, ok := <-c.events
	if !ok {
		t.Fatal("the event stream ended")
	}
	return e
}

func post(t *testing.T, srv *httptest.Server, path, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEventsInOrderToSeveralClients(t *testing.T) {
	h, srv := serve(t, "", nil)
	a, b := connect(t, srv, 0), connect(t, srv, 0)
	for _, c := range []*client{a, b} {
		if e := c.next(t); e.Type != "reset" || e.ID != 0 {
			t.Fatalf("first event %+v, want reset 0", e)
		}
	}
	if code, body := post(t, srv, "/api/prompt", "application/json", `{"text": " Hello <b>\n"}`); code != 202 || body != "{\"turn\":1}\n" {
		t.Fatalf("POST /api/prompt: %d %q", code, body)
	}
	if p, err := h.NextPrompt(t.Context()); err != nil || p != "Hello <b>" {
		t.Fatalf("NextPrompt = %q, %v", p, err)
	}
	turn := h.BeginAnswer()
	for _, s := range []string{"Hi", " there", "!"} {
		h.Publish(Event{Type: "chunk", Turn: turn, Text: s})
	}
	h.Publish(Event{Type: "end", Turn: turn})
	want := []string{"prompt:1:Hello <b>", "start:1:", "chunk:1:Hi", "chunk:1: there", "chunk:1:!", "end:1:"}
	for _, c := range []*client{a, b} {
		for i, w := range want {
			e := c.next(t)
			if got := fmt.Sprintf("%s:%d:%s", e.Type, e.Turn, e.Text); got != w || e.ID != int64(i+1) {
				t.Fatalf("event %d = %s (id %d), want %s (id %d)", i, got, e.ID, w, i+1)
			}
		}
	}
}

func TestReconnectReplaysHistory(t *testing.T) {
	h, srv := serve(t, "", nil)
	h.Submit("one")
	turn := h.BeginAnswer()
	h.Publish(Event{Type: "chunk", Turn: turn, Text: "1"})
	h.Publish(Event{Type: "end", Turn: turn})

	// A new page (reload, second tab) gets everything after a reset.
	c := connect(t, srv, 0)
	var got []string
	for range 5 {
		got = append(got, c.next(t).Type)
	}
	if strings.Join(got, " ") != "reset prompt start chunk end" {
		t.Fatalf("replay = %v", got)
	}
	// A reconnecting page gets what followed its last event, then lives on.
	c2 := connect(t, srv, 3)
	if e := c2.next(t); e.ID != 4 || e.Type != "end" {
		t.Fatalf("after Last-Event-ID 3: %+v, want end 4", e)
	}
	h.Submit("two")
	if e := c2.next(t); e.ID != 5 || e.Text != "two" || e.Turn != 2 {
		t.Fatalf("live after replay: %+v", e)
	}
}

// A page that does not read is disconnected once ClientBuffer events wait
// for it; publishing never waits, and the page catches up on reconnect.
func TestSlowClientDoesNotStallPublishing(t *testing.T) {
	h, srv := serveConfig(t, Config{ClientBuffer: 8, MaxHistoryBytes: 256 << 20})
	slow := connectBuffered(t, srv, 0, 1)
	if e := slow.next(t); e.Type != "reset" {
		t.Fatal(e)
	}
	// The page reads nothing: the events fill the sockets' buffers, then
	// its buffer of 8 events.
	text := strings.Repeat("x", 32<<10)
	total := 640 // 20 MiB: more than the sockets' buffers hold
	for range total {
		h.Publish(Event{Type: "chunk", Turn: 1, Text: text}) // must not block
	}
	var last int64
	for e := range slow.events {
		last = e.ID
	}
	if last >= int64(total) {
		t.Fatalf("the slow page got every event (last %d): it was not disconnected", last)
	}
	again := connect(t, srv, last)
	for want := last + 1; want <= int64(total); want++ {
		if e := again.next(t); e.ID != want {
			t.Fatalf("catch-up event id %d, want %d", e.ID, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	_, srv := serve(t, "", nil)
	host := srv.Listener.Addr().String()
	big := `{"text": "` + strings.Repeat("a", MaxPromptBytes+1) + `"}`
	for _, tc := range []struct {
		name, path, ctype, body string
		header                  []string
		code                    int
		want                    string
	}{
		{"not JSON content", "/api/prompt", "text/plain", "hi", nil, 415, "Content-Type: application/json"},
		{"bad JSON", "/api/prompt", "application/json", `{"text": 1}`, nil, 400, `the body must be {"text": "..."}`},
		{"unknown field", "/api/prompt", "application/json", `{"txt": "hi"}`, nil, 400, `unknown field "txt"`},
		{"empty prompt", "/api/prompt", "application/json", `{"text": "  "}`, nil, 400, "the prompt is empty"},
		{"too long", "/api/prompt", "application/json", big, nil, 413, "too long"},
		{"unknown path", "/api/nothing", "application/json", `{}`, nil, 404, "404 page not found"},
		{"rebound host", "/api/prompt", "application/json", `{"text": "hi"}`, []string{"Host", "evil.example:" + strings.Split(host, ":")[1]}, 421, "DNS rebinding"},
		{"other port", "/api/stop", "application/json", `{}`, []string{"Host", "127.0.0.1:1"}, 421, "refused"},
		{"cross-site origin", "/api/prompt", "application/json", `{"text": "hi"}`, []string{"Origin", "http://evil.example"}, 403, "cross-site"},
		{"fetch metadata", "/api/stop", "application/json", `{}`, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
		{"same origin", "/api/prompt", "application/json", `{"text": "hi"}`, []string{"Origin", "http://" + host}, 202, `{"turn":1}`},
		{"localhost name", "/api/stop", "application/json", `{}`, []string{"Host", "localhost:" + strings.Split(host, ":")[1]}, 200, `{"cut":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, srv, tc.path, tc.ctype, tc.body, tc.header...)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %q, want %d containing %q", "POST", tc.path, code, body, tc.code, tc.want)
			}
		})
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/events", nil)
	req.Header.Set("Last-Event-ID", "x")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "not an event id") {
		t.Errorf("bad Last-Event-ID: %d %q", resp.StatusCode, b)
	}
}

func TestTooManyPendingPrompts(t *testing.T) {
	_, srv := serve(t, "", nil)
	for i := range MaxPending {
		if code, body := post(t, srv, "/api/prompt", "application/json", `{"text": "p"}`); code != 202 {
			t.Fatalf("prompt %d: %d %s", i, code, body)
		}
	}
	if code, body := post(t, srv, "/api/prompt", "application/json", `{"text": "p"}`); code != 429 || !strings.Contains(body, "waiting already") {
		t.Fatalf("prompt beyond MaxPending: %d %q", code, body)
	}
}

func TestStopCallsInterrupt(t *testing.T) {
	calls := 0
	_, srv := serve(t, "", func() int { calls++; return 1 })
	if code, body := post(t, srv, "/api/stop", "application/json", `{}`); code != 200 || body != "{\"cut\":1}\n" || calls != 1 {
		t.Fatalf("POST /api/stop: %d %q, %d calls", code, body, calls)
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	_, err := New(Config{Addr: "0.0.0.0:8765"})
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), TokenEnv) {
		t.Fatalf("New without token on 0.0.0.0: %v", err)
	}
	if _, err := New(Config{Addr: "0.0.0.0:8765", Token: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Addr: "8765"}); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("New with a bad address: %v", err)
	}
}

func TestToken(t *testing.T) {
	_, srv := serve(t, "s3cret", nil)
	if code, body := post(t, srv, "/api/stop", "application/json", `{}`); code != 401 || !strings.Contains(body, "?token=") || strings.Contains(body, "s3cret") {
		t.Fatalf("without the token: %d %q", code, body)
	}
	// Any Host is accepted with a token (the token defeats rebinding).
	if code, _ := post(t, srv, "/api/stop", "application/json", `{}`, "Authorization", "Bearer s3cret", "Host", "chat.example:80"); code != 200 {
		t.Fatalf("with the bearer token: %d", code)
	}
	resp, err := srv.Client().Get(srv.URL + "/?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) != 1 || !cookies[0].HttpOnly {
		t.Fatalf("page with ?token=: %d, cookies %v", resp.StatusCode, cookies)
	}
	if code, _ := post(t, srv, "/api/stop", "application/json", `{}`, "Cookie", cookies[0].Name+"="+cookies[0].Value); code != 200 {
		t.Fatalf("with the cookie: %d", code)
	}
}

func TestPageIsSelfContained(t *testing.T) {
	_, srv := serve(t, "", nil)
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(b)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, bad := range []string{"http://", "https://", "innerHTML", "@import", "src="} {
		if strings.Contains(html, bad) {
			t.Errorf("the page contains %q: it must load nothing from outside and never insert HTML", bad)
		}
	}
}

// An answer that starts over: a live page and one that joins later get
// the lost part, the restart, then the new answer of the same turn; the
// next answer has the next turn.
func TestRestartedAnswer(t *testing.T) {
	h, srv := serve(t, "", nil)
	live := connect(t, srv, 0)
	h.Submit("one")
	turn := h.BeginAnswer()
	h.Publish(Event{Type: "chunk", Turn: turn, Text: "Once up"})
	h.RestartAnswer(turn)
	h.Publish(Event{Type: "chunk", Turn: turn, Text: "A long time ago."})
	h.Publish(Event{Type: "end", Turn: turn})
	h.Submit("two")
	if next := h.BeginAnswer(); next != 2 {
		t.Fatalf("the answer after a restarted one has turn %d, want 2", next)
	}
	want := "reset:0: prompt:1:one start:1: chunk:1:Once up restart:1: chunk:1:A long time ago. end:1: prompt:2:two start:2:"
	late := connect(t, srv, 0)
	for name, c := range map[string]*client{"live": live, "late": late} {
		var got []string
		for range 9 {
			e := c.next(t)
			got = append(got, fmt.Sprintf("%s:%d:%s", e.Type, e.Turn, e.Text))
		}
		if s := strings.Join(got, " "); s != want {
			t.Errorf("%s page got %s\nwant %s", name, s, want)
		}
	}
}
