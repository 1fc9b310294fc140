package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/internal/llm"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
)

const testKey = "sk-test-SECRET-0123456789"

// recorder collects deltas and retry delays.
type recorder struct {
	mu     sync.Mutex
	deltas []llm.Delta
	delays []time.Duration
}

func (r *recorder) onDelta(d llm.Delta) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deltas = append(r.deltas, d)
	return nil
}

func (r *recorder) content() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, d := range r.deltas {
		b.WriteString(d.Content)
	}
	return b.String()
}

func (r *recorder) reasoning() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, d := range r.deltas {
		b.WriteString(d.Reasoning)
	}
	return b.String()
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delays = append(r.delays, d)
	return nil
}

func (r *recorder) recordedDelays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays...)
}

// newClient returns a client of s with retries that record their delays
// instead of sleeping. Its timeouts are long, so that no case fails
// because a loaded machine was slow; a case about a timeout sets it.
func newClient(s *llmtest.Server, rec *recorder) *llm.Client {
	return &llm.Client{
		BaseURL:       s.URL(),
		APIKey:        testKey,
		HeaderTimeout: time.Minute,
		IdleTimeout:   time.Minute,
		Retry:         llm.RetryPolicy{Sleep: rec.sleep, MaxRetryAfter: 5 * time.Second},
	}
}

func basicRequest() llm.Request {
	return llm.Request{
		Model:        "test-model",
		Messages:     []llm.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}},
		IncludeUsage: true,
	}
}

// outcome is what a case's Stream returned; its server is closed, so
// that the requests it recorded are final.
type outcome struct {
	res llm.Result
	err error
	rec *recorder
	srv *llmtest.Server
}

// matrixCase is one row (or variant) of the fault matrix.
type matrixCase struct {
	name      string
	responses []llmtest.Response
	client    func(*llm.Client)
	check     func(t *testing.T, o outcome)
}

func runCases(t *testing.T, cases []matrixCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := llmtest.New(t, tc.responses...)
			rec := &recorder{}
			c := newClient(s, rec)
			if tc.client != nil {
				tc.client(c)
			}
			res, err := c.Stream(t.Context(), basicRequest(), rec.onDelta)
			s.Close()
			o := outcome{res: res, err: err, rec: rec, srv: s}
			if err != nil {
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error leaks the API key: %v", err)
				}
				if !strings.Contains(err.Error(), c.Endpoint()) {
					t.Errorf("error %q does not name the server %s", err, c.Endpoint())
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
			}
			if res.Content != rec.content() {
				t.Errorf("Result.Content = %q, but the deltas give %q", res.Content, rec.content())
			}
			if n := s.Unscripted(); n != 0 {
				t.Errorf("%d requests beyond the script", n)
			}
			tc.check(t, o)
		})
	}
}

func wantComplete(content, finish string) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		if o.err != nil {
			t.Fatalf("Stream: %v", o.err)
		}
		if o.res.Content != content || o.res.FinishReason != finish {
			t.Errorf("got content %q finish %q, want %q %q", o.res.Content, o.res.FinishReason, content, finish)
		}
		if n := o.srv.Count(); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
	}
}

func wantStreamErr(target error, partial string, requests int) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		var se *llm.StreamError
		if !errors.As(o.err, &se) || !errors.Is(o.err, target) {
			t.Fatalf("err = %v (%T), want a *StreamError wrapping %v", o.err, o.err, target)
		}
		if o.res.Content != partial {
			t.Errorf("partial content %q, want %q", o.res.Content, partial)
		}
		if n := o.srv.Count(); n != requests {
			t.Errorf("server saw %d requests, want %d", n, requests)
		}
	}
}

func wantAPIErr(status int, inStream bool, msg, typ, code string, requests int) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		var ae *llm.APIError
		if !errors.As(o.err, &ae) {
			t.Fatalf("err = %v (%T), want *llm.APIError", o.err, o.err)
		}
		if ae.Status != status || ae.InStream != inStream || ae.Message != msg || ae.Type != typ || ae.CodeString() != code {
			t.Errorf("got status %d inStream %v message %q type %q code %q, want %d %v %q %q %q",
				ae.Status, ae.InStream, ae.Message, ae.Type, ae.CodeString(), status, inStream, msg, typ, code)
		}
		if n := o.srv.Count(); n != requests {
			t.Errorf("server saw %d requests, want %d", n, requests)
		}
	}
}

// Row 1: role → content → finish (delta {}) → usage (choices []) → [DONE];
// and the request the client sends.
func TestMatrixRow01Canonical(t *testing.T) {
	t.Parallel()
	runCases(t, []matrixCase{{
		name:      "stream",
		responses: []llmtest.Response{llmtest.Stream("Hello", ", ", "world")},
		check: func(t *testing.T, o outcome) {
			wantComplete("Hello, world", "stop")(t, o)
			if o.res.Usage == nil || *o.res.Usage != (llm.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}) {
				t.Errorf("usage = %+v, want 7/3/10", o.res.Usage)
			}
			if !o.res.Done || o.res.Attempts != 1 || o.res.Model != "llmtest" || o.res.ID != "chatcmpl-llmtest" {
				t.Errorf("result = %+v", o.res)
			}
			if len(o.rec.deltas) != 3 {
				t.Errorf("%d deltas, want 3 (no empty ones)", len(o.rec.deltas))
			}
			r := o.srv.Requests()[0]
			if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
				t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.Path)
			}
			for h, want := range map[string]string{
				"Authorization": "Bearer " + testKey,
				"Content-Type":  "application/json",
				"Accept":        "text/event-stream",
			} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			want := `{"model":"test-model","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
			if string(r.Raw) != want {
				t.Errorf("body\n got %s\nwant %s", r.Raw, want)
			}
		},
	}})
}

func TestRequestBody(t *testing.T) {
	t.Parallel()
	temp0, temp07 := 0.0, 0.7
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{"zero fields omitted", llm.Request{Model: "m", Messages: []llm.Message{{Role: "user", Content: "x"}}},
			`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}`},
		{"max_tokens and temperature", llm.Request{Model: "m", Messages: []llm.Message{}, MaxTokens: 40, Temperature: &temp07, IncludeUsage: true},
			`{"model":"m","messages":[],"stream":true,"temperature":0.7,"max_tokens":40,"stream_options":{"include_usage":true}}`},
		{"max_completion_tokens switch", llm.Request{Model: "m", MaxTokens: 40, UseMaxCompletionTokens: true},
			`{"model":"m","messages":[],"stream":true,"max_completion_tokens":40}`},
		{"temperature zero is sent", llm.Request{Temperature: &temp0},
			`{"messages":[],"stream":true,"temperature":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.req.Body()
			if err != nil || string(got) != tt.want {
				t.Errorf("Body() = %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
}

func TestCustomBasePath(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Stream("ok"))
	c := &llm.Client{BaseURL: s.Root() + "/openai/", Retry: llm.RetryPolicy{MaxRetries: -1}}
	if _, err := c.Stream(t.Context(), basicRequest(), func(llm.Delta) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r := s.Requests()[0]
	if r.Path != "/openai/chat/completions" {
		t.Errorf("path = %q, want /openai/chat/completions", r.Path)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q without a key, want none", h)
	}
}

// Row 2: Ollama.
func TestMatrixRow02Ollama(t *testing.T) {
	t.Parallel()
	runCases(t, []matrixCase{{
		name:      "repeated role, finish on empty content",
		responses: []llmtest.Response{llmtest.Ollama("Hi", " there")},
		check: func(t *testing.T, o outcome) {
			wantComplete("Hi there", "stop")(t, o)
			if o.res.Usage != nil {
				t.Errorf("usage = %+v, want nil", o.res.Usage)
			}
		},
	}})
}

// Row 3: Groq's x_groq.usage.
func TestMatrixRow03GroqUsage(t *testing.T) {
	t.Parallel()
	runCases(t, []matrixCase{{
		name:      "x_groq usage",
		responses: []llmtest.Response{llmtest.Groq("a", "b")},
		check: func(t *testing.T, o outcome) {
			wantComplete("ab", "stop")(t, o)
			if o.res.Usage == nil || *o.res.Usage != (llm.Usage{PromptTokens: 11, CompletionTokens: 2, TotalTokens: 13}) {
				t.Errorf("usage = %+v, want 11/2/13", o.res.Usage)
			}
		},
	}})
}

// Row 4: reasoning_content and reasoning.
func TestMatrixRow04Reasoning(t *testing.T) {
	t.Parallel()
	var cases []matrixCase
	for _, field := range []string{"reasoning_content", "reasoning"} {
		cases = append(cases, matrixCase{
			name:      field,
			responses: []llmtest.Response{llmtest.Reasoning(field, []string{"let me ", "think"}, "4")},
			check: func(t *testing.T, o outcome) {
				wantComplete("4", "stop")(t, o)
				if o.res.Reasoning != "let me think" || o.rec.reasoning() != "let me think" {
					t.Errorf("reasoning = %q (deltas %q), want %q", o.res.Reasoning, o.rec.reasoning(), "let me think")
				}
				for _, d := range o.rec.deltas {
					if d.Content != "" && d.Reasoning != "" {
						t.Errorf("delta mixes content and reasoning: %+v", d)
					}
				}
			},
		})
	}
	runCases(t, cases)
}

func chunkJSON(content string, finish any) string {
	b, _ := json.Marshal(llmtest.Chunk(map[string]any{"content": content}, finish))
	return string(b)
}

// Row 5: CRLF, keep-alive comments, event/id lines, empty data events.
func TestMatrixRow05Framing(t *testing.T) {
	t.Parallel()
	framed := func(eol string) llmtest.Response {
		return llmtest.Response{Steps: []llmtest.Step{
			llmtest.Write(": keep-alive" + eol + eol),
			llmtest.Write(llmtest.Event(eol, "event: message", "id: 1", "data: "+chunkJSON("a", nil))),
			llmtest.Write(": OPENROUTER PROCESSING" + eol + eol),
			llmtest.Write(llmtest.Event(eol, "data:")),
			llmtest.Write(llmtest.Event(eol, "data: : ping")),
			llmtest.Write(llmtest.Event(eol, "retry: 100", "data: "+chunkJSON("b", "stop"))),
			llmtest.Write(llmtest.Event(eol, "data: [DONE]")),
		}}
	}
	runCases(t, []matrixCase{
		{name: "crlf", responses: []llmtest.Response{framed("\r\n")}, check: wantComplete("ab", "stop")},
		{name: "lf", responses: []llmtest.Response{framed("\n")}, check: wantComplete("ab", "stop")},
		{name: "lone cr", responses: []llmtest.Response{framed("\r")}, check: wantComplete("ab", "stop")},
	})
}

// Row 6: split JSON, a 100 KiB delta, a UTF-8 character split over writes.
func TestMatrixRow06EdgeCases(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 100<<10/16)
	world := "w\u00f6rld \u4e16" // ö and 世 are multi-byte
	js := chunkJSON(world, nil)
	cut := strings.Index(js, "\u4e16") + 1 // inside the 3-byte character
	runCases(t, []matrixCase{
		{
			name: "data split over two lines",
			responses: []llmtest.Response{{Steps: []llmtest.Step{
				llmtest.Write("data: {\"choices\":[{\"index\":0,\n"),
				llmtest.Write("data: \"delta\":{\"content\":\"split\"},\"finish_reason\":\"stop\"}]}\n\n"),
				llmtest.Done(),
			}}},
			check: wantComplete("split", "stop"),
		},
		{
			name:      "100 KiB delta",
			responses: []llmtest.Response{llmtest.Stream(big, "!")},
			check:     wantComplete(big+"!", "stop"),
		},
		{
			name: "utf-8 split across writes",
			responses: []llmtest.Response{{Steps: []llmtest.Step{
				llmtest.Write("data: " + js[:cut]),
				llmtest.Sleep(20 * time.Millisecond),
				llmtest.Write(js[cut:] + "\n\n"),
				llmtest.Data(llmtest.Chunk(map[string]any{}, "stop")),
				llmtest.Done(),
			}}},
			check: wantComplete(world, "stop"),
		},
	})
}

// Row 7: slow headers, slow chunks, an idle gap, headers that never come.
// A timeout that must not fire has seconds to spare over every pause; a
// stall that must make one fire lasts until the client gives up
// (llmtest.Hang), and the case checks that the client left. So the cases
// hold however loaded the machine is.
func TestMatrixRow07Slow(t *testing.T) {
	t.Parallel()
	const idle = 2 * time.Second // the idle timeout of the cases about it
	// paced returns n steps made by step, each after a pause of idle/8:
	// each pause far under the idle timeout, all of them longer than it.
	paced := func(n int, step func(i int) llmtest.Step) []llmtest.Step {
		var steps []llmtest.Step
		for i := range n {
			steps = append(steps, llmtest.Sleep(idle/8), step(i))
		}
		return steps
	}
	const n = 12 // n pauses of idle/8 make 1.5 idle
	var pieces []string
	for i := range n {
		pieces = append(pieces, string(rune('a'+i)))
	}
	slowChunks := llmtest.Stream(pieces...)
	slowChunks.Steps = append(append(slowChunks.Steps[:1:1],
		paced(n, func(i int) llmtest.Step { return slowChunks.Steps[1+i] })...),
		slowChunks.Steps[1+n:]...)
	keepAlive := llmtest.Response{Steps: append(append([]llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "x"}, nil))},
		paced(n, func(int) llmtest.Step { return llmtest.Write(": keep-alive\n\n") })...),
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "y"}, "stop")),
		llmtest.Done())}
	slowHeaders := llmtest.Stream("late")
	slowHeaders.Delay = 300 * time.Millisecond
	stalled := llmtest.Response{Steps: []llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "par"}, nil)),
		llmtest.Hang(),
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "tial"}, "stop")),
		llmtest.Done(),
	}}
	noHeaders := llmtest.Stream("never")
	noHeaders.Delay = llmtest.HangLimit
	// wantLeft checks that the client gave up on the stalled response.
	wantLeft := func(t *testing.T, o outcome) {
		t.Helper()
		if r := o.srv.Requests(); len(r) == 0 || !r[0].Left {
			t.Errorf("the client waited for the end of the server's %v stall instead of giving up", llmtest.HangLimit)
		}
	}
	runCases(t, []matrixCase{
		{name: "slow first byte", responses: []llmtest.Response{slowHeaders}, check: wantComplete("late", "stop")},
		{name: "slow chunks each under the idle timeout", responses: []llmtest.Response{slowChunks},
			client: func(c *llm.Client) { c.IdleTimeout = idle },
			check:  wantComplete(strings.Join(pieces, ""), "stop")},
		{name: "comments reset the idle timer", responses: []llmtest.Response{keepAlive},
			client: func(c *llm.Client) { c.IdleTimeout = idle },
			check:  wantComplete("xy", "stop")},
		{name: "idle gap over the timeout", responses: []llmtest.Response{stalled},
			client: func(c *llm.Client) { c.IdleTimeout = idle },
			check: func(t *testing.T, o outcome) {
				wantStreamErr(llm.ErrIdleTimeout, "par", 1)(t, o)
				wantLeft(t, o)
			}},
		{name: "header timeout", responses: []llmtest.Response{noHeaders},
			client: func(c *llm.Client) { c.HeaderTimeout = idle; c.Retry.MaxRetries = -1 },
			check: func(t *testing.T, o outcome) {
				wantStreamErr(llm.ErrHeaderTimeout, "", 1)(t, o)
				wantLeft(t, o)
			}},
	})
}

// Row 8: the connection is cut mid-stream.
func TestMatrixRow08Disconnect(t *testing.T) {
	t.Parallel()
	cut := llmtest.Stream("one", "two", "three")
	cut.Steps = append(cut.Steps[:3:3], llmtest.Disconnect())
	runCases(t, []matrixCase{{
		name:      "hijack and close",
		responses: []llmtest.Response{cut},
		check: func(t *testing.T, o outcome) {
			wantStreamErr(llm.ErrTruncated, "onetwo", 1)(t, o)
			if !errors.Is(o.err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want it to wrap io.ErrUnexpectedEOF", o.err)
			}
		},
	}})
}

// Row 9: clean EOF without finish_reason or [DONE]; and EOF right after a
// finish_reason, which is complete.
func TestMatrixRow09CleanEOF(t *testing.T) {
	t.Parallel()
	noEnd := llmtest.Stream("one", "two")
	noEnd.Steps = noEnd.Steps[:3]
	ollamaErr := llmtest.Response{Steps: []llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"role": "assistant", "content": "partial"}, nil)),
		llmtest.Data(llmtest.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)),
	}}
	finishNoDone := llmtest.Stream("x")
	finishNoDone.Steps = finishNoDone.Steps[:3]
	runCases(t, []matrixCase{
		{name: "no finish no done", responses: []llmtest.Response{noEnd}, check: wantStreamErr(llm.ErrTruncated, "onetwo", 1)},
		{name: "ollama empty chunk then eof", responses: []llmtest.Response{ollamaErr}, check: wantStreamErr(llm.ErrTruncated, "partial", 1)},
		{name: "finish then eof is complete", responses: []llmtest.Response{finishNoDone}, check: wantComplete("x", "stop")},
	})
}

// Row 10: data: {"error":…} then EOF, or then [DONE].
func TestMatrixRow10DataError(t *testing.T) {
	t.Parallel()
	errEvent := `{"error":{"code":500,"message":"kv cache full","type":"server_error"}}`
	head := []llmtest.Step{llmtest.Data(llmtest.Chunk(map[string]any{"content": "so "}, nil)), llmtest.Data(errEvent)}
	runCases(t, []matrixCase{
		{name: "then eof", responses: []llmtest.Response{{Steps: head}},
			check: wantAPIErr(200, true, "kv cache full", "server_error", "500", 1)},
		{name: "then done", responses: []llmtest.Response{{Steps: append(head[:2:2], llmtest.Done())}},
			check: wantAPIErr(200, true, "kv cache full", "server_error", "500", 1)},
		{name: "before any content, not retried", responses: []llmtest.Response{{Steps: []llmtest.Step{llmtest.Data(`{"error":{"message":"boom"}}`), llmtest.Done()}}},
			check: wantAPIErr(200, true, "boom", "", "", 1)},
	})
}

// Row 11: llama.cpp's legacy error: field.
func TestMatrixRow11LegacyErrorField(t *testing.T) {
	t.Parallel()
	runCases(t, []matrixCase{{
		name: "error line",
		responses: []llmtest.Response{{Steps: []llmtest.Step{
			llmtest.Data(llmtest.Chunk(map[string]any{"content": "Once"}, nil)),
			llmtest.Write(`error: {"code":500,"message":"failed to decode","type":"server_error"}` + "\n\n"),
		}}},
		check: func(t *testing.T, o outcome) {
			wantAPIErr(200, true, "failed to decode", "server_error", "500", 1)(t, o)
			if o.res.Content != "Once" {
				t.Errorf("partial = %q", o.res.Content)
			}
		},
	}})
}

// Row 12: malformed JSON.
func TestMatrixRow12MalformedJSON(t *testing.T) {
	t.Parallel()
	runCases(t, []matrixCase{{
		name: "bad data line",
		responses: []llmtest.Response{{Steps: []llmtest.Step{
			llmtest.Data(llmtest.Chunk(map[string]any{"content": "ok"}, nil)),
			llmtest.Write("data: {\"choices\":[{\"delta\":\n\n"),
			llmtest.Done(),
		}}},
		check: wantStreamErr(llm.ErrBadChunk, "ok", 1),
	}, {
		name:      "bad data before content is not retried",
		responses: []llmtest.Response{{Steps: []llmtest.Step{llmtest.Write("data: <html>\n\n")}}},
		check:     wantStreamErr(llm.ErrBadChunk, "", 1),
	}})
}

func rateLimited(h map[string]string) llmtest.Response {
	r := llmtest.Error(429, `{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}`)
	r.Header = h
	return r
}

// Row 13: 429 with Retry-After in its three forms, and over the cap.
func TestMatrixRow13RateLimit(t *testing.T) {
	t.Parallel()
	wantDelays := func(lo, hi time.Duration) func(t *testing.T, o outcome) {
		return func(t *testing.T, o outcome) {
			if o.err != nil {
				t.Fatalf("Stream: %v", o.err)
			}
			d := o.rec.recordedDelays()
			if len(d) != 1 || d[0] < lo || d[0] > hi {
				t.Errorf("delays = %v, want one in [%v, %v]", d, lo, hi)
			}
			if o.res.Content != "ok" || o.srv.Count() != 2 || o.res.Attempts != 2 {
				t.Errorf("content %q after %d requests (attempts %d), want \"ok\" after 2", o.res.Content, o.srv.Count(), o.res.Attempts)
			}
		}
	}
	now := time.Now()
	runCases(t, []matrixCase{
		{name: "retry-after seconds", responses: []llmtest.Response{rateLimited(map[string]string{"Retry-After": "1"}), llmtest.Stream("ok")},
			check: wantDelays(time.Second, time.Second)},
		{name: "retry-after float seconds", responses: []llmtest.Response{rateLimited(map[string]string{"Retry-After": "0.25"}), llmtest.Stream("ok")},
			check: wantDelays(250*time.Millisecond, 250*time.Millisecond)},
		{name: "retry-after http date", responses: []llmtest.Response{rateLimited(map[string]string{"Retry-After": now.Add(3 * time.Second).UTC().Format(http.TimeFormat)}), llmtest.Stream("ok")},
			client: func(c *llm.Client) { c.Retry.Now = func() time.Time { return now } },
			check:  wantDelays(2*time.Second, 3*time.Second)},
		{name: "retry-after-ms wins", responses: []llmtest.Response{rateLimited(map[string]string{"retry-after-ms": "200", "Retry-After": "1"}), llmtest.Stream("ok")},
			check: wantDelays(200*time.Millisecond, 200*time.Millisecond)},
		{name: "no header backs off", responses: []llmtest.Response{rateLimited(nil), llmtest.Stream("ok")},
			check: wantDelays(375*time.Millisecond, 500*time.Millisecond)},
		{name: "over the cap gives up", responses: []llmtest.Response{rateLimited(map[string]string{"Retry-After": "3600"})},
			check: func(t *testing.T, o outcome) {
				wantAPIErr(429, false, "Rate limit reached", "tokens", "rate_limit_exceeded", 1)(t, o)
				if !strings.Contains(o.err.Error(), "retry after 1h0m0s") {
					t.Errorf("error %q does not say how long the server asked to wait", o.err)
				}
			}},
		{name: "retries exhausted", responses: []llmtest.Response{rateLimited(nil), rateLimited(nil), rateLimited(nil)},
			check: func(t *testing.T, o outcome) {
				wantAPIErr(429, false, "Rate limit reached", "tokens", "rate_limit_exceeded", 3)(t, o)
				if d := o.rec.recordedDelays(); len(d) != 2 || d[0] > 500*time.Millisecond || d[1] < 750*time.Millisecond || d[1] > time.Second {
					t.Errorf("delays = %v, want 0.5 s then 1 s minus jitter", d)
				}
				if !strings.Contains(o.err.Error(), "gave up after 3 attempts") {
					t.Errorf("error %q does not count the attempts", o.err)
				}
			}},
		{name: "x-should-retry false", responses: []llmtest.Response{{Status: 500, Header: map[string]string{"x-should-retry": "false"}, Steps: []llmtest.Step{llmtest.Write(`{"error":{"message":"no"}}`)}}},
			check: wantAPIErr(500, false, "no", "", "", 1)},
		{name: "x-should-retry true", responses: []llmtest.Response{{Status: 400, Header: map[string]string{"x-should-retry": "true"}, Steps: []llmtest.Step{llmtest.Write(`{"error":{"message":"again"}}`)}}, llmtest.Stream("ok")},
			check: wantDelays(0, 500*time.Millisecond)},
	})
}

// Row 13 with a real wait, to show the delay is slept.
func TestRetryAfterMsRealSleep(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, rateLimited(map[string]string{"retry-after-ms": "200"}), llmtest.Stream("ok"))
	c := &llm.Client{BaseURL: s.URL()}
	start := time.Now()
	res, err := c.Stream(t.Context(), basicRequest(), func(llm.Delta) error { return nil })
	if err != nil || res.Content != "ok" {
		t.Fatalf("Stream = %q, %v", res.Content, err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("retried after %v, want at least 200ms", el)
	}
}

// Row 14: llama.cpp's 503 while loading.
func TestMatrixRow14Loading(t *testing.T) {
	t.Parallel()
	loading := llmtest.Error(503, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`)
	runCases(t, []matrixCase{{
		name:      "503 then success",
		responses: []llmtest.Response{loading, loading, llmtest.Stream("ready")},
		check: func(t *testing.T, o outcome) {
			if o.err != nil || o.res.Content != "ready" || o.srv.Count() != 3 {
				t.Fatalf("got %q, %v after %d requests", o.res.Content, o.err, o.srv.Count())
			}
		},
	}})
}

// Row 15: error bodies of every shape.
func TestMatrixRow15ErrorBodies(t *testing.T) {
	t.Parallel()
	html := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
		strings.Repeat("<!-- padding to make the page long -->\r\n", 20) + "</body>\r\n</html>\r\n"
	noRetry := func(c *llm.Client) { c.Retry.MaxRetries = -1 }
	runCases(t, []matrixCase{
		{name: "llama.cpp integer code and n_ctx", responses: []llmtest.Response{llmtest.Error(400,
			`{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error","n_prompt_tokens":600,"n_ctx":512}}`)},
			check: wantAPIErr(400, false, "the request exceeds the available context size", "exceed_context_size_error", "400", 1)},
		{name: "openai 401 string code", responses: []llmtest.Response{llmtest.Error(401,
			`{"error":{"message":"Incorrect API key provided: `+testKey+`.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)},
			check: func(t *testing.T, o outcome) {
				wantAPIErr(401, false, "Incorrect API key provided: [redacted].", "invalid_request_error", "invalid_api_key", 1)(t, o)
			}},
		{name: "404 model", responses: []llmtest.Response{llmtest.Error(404,
			`{"error":{"message":"model \"nope\" not found","type":"invalid_request_error","param":null,"code":"model_not_found"}}`)},
			check: wantAPIErr(404, false, `model "nope" not found`, "invalid_request_error", "model_not_found", 1)},
		{name: "ollama null code", responses: []llmtest.Response{llmtest.Error(400,
			`{"error":{"message":"[] is too short - 'messages'","type":"invalid_request_error","param":null,"code":null}}`)},
			check: wantAPIErr(400, false, "[] is too short - 'messages'", "invalid_request_error", "", 1)},
		{name: "old vllm top level", responses: []llmtest.Response{llmtest.Error(400,
			`{"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400}`)},
			check: wantAPIErr(400, false, "max_tokens is too large", "BadRequestError", "400", 1)},
		{name: "native ollama string error", responses: []llmtest.Response{llmtest.Error(404, `{"error":"model 'x' not found"}`)},
			check: wantAPIErr(404, false, "model 'x' not found", "", "", 1)},
		{name: "html 502", responses: []llmtest.Response{{Status: 502, ContentType: "text/html", Steps: []llmtest.Step{llmtest.Write(html)}}},
			client: noRetry,
			check: func(t *testing.T, o outcome) {
				var ae *llm.APIError
				if !errors.As(o.err, &ae) || ae.Status != 502 {
					t.Fatalf("err = %v", o.err)
				}
				if !strings.HasPrefix(ae.Message, "<html> <head><title>502 Bad Gateway</title>") || len(ae.Message) > 230 || !strings.Contains(ae.Message, "bytes)") {
					t.Errorf("message = %q, want the page collapsed to one short line", ae.Message)
				}
			}},
		{name: "empty body", responses: []llmtest.Response{{Status: 403}},
			check: wantAPIErr(403, false, "", "", "", 1)},
	})
}

// Row 16: a JSON body on a stream request.
func TestMatrixRow16JSONBody(t *testing.T) {
	t.Parallel()
	completion := `{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`
	runCases(t, []matrixCase{
		{name: "non-stream completion", responses: []llmtest.Response{{ContentType: "application/json", Steps: []llmtest.Step{llmtest.Write(completion)}}},
			check: func(t *testing.T, o outcome) {
				wantComplete("whole answer", "stop")(t, o)
				if o.res.Usage == nil || o.res.Usage.TotalTokens != 5 {
					t.Errorf("usage = %+v", o.res.Usage)
				}
			}},
		{name: "json error on 200", responses: []llmtest.Response{{ContentType: "application/json; charset=utf-8", Steps: []llmtest.Step{llmtest.Write(`{"error":{"message":"bad"}}`)}}},
			check: wantAPIErr(200, false, "bad", "", "", 1)},
		{name: "html on 200", responses: []llmtest.Response{{ContentType: "text/html", Steps: []llmtest.Step{llmtest.Write("<html>login</html>")}}},
			check: wantStreamErr(llm.ErrContentType, "", 1)},
		{name: "no content type is read as a stream", responses: []llmtest.Response{func() llmtest.Response { r := llmtest.Stream("ok"); r.ContentType = "-"; return r }()},
			check: wantComplete("ok", "stop")},
	})
}

// Row 17: no retry once content was delivered; retry when it was not.
func TestMatrixRow17NoDuplicateOutput(t *testing.T) {
	t.Parallel()
	afterContent := llmtest.Stream("seen")
	afterContent.Steps = append(afterContent.Steps[:2:2], llmtest.Disconnect())
	beforeContent := llmtest.Stream("x")
	beforeContent.Steps = append(beforeContent.Steps[:1:1], llmtest.Disconnect())
	roleOnlyEOF := llmtest.Stream("x")
	roleOnlyEOF.Steps = roleOnlyEOF.Steps[:1]
	runCases(t, []matrixCase{
		{name: "cut after content is not retried", responses: []llmtest.Response{afterContent},
			check: wantStreamErr(llm.ErrTruncated, "seen", 1)},
		{name: "cut before content is retried", responses: []llmtest.Response{beforeContent, llmtest.Stream("fresh")},
			check: func(t *testing.T, o outcome) {
				if o.err != nil || o.res.Content != "fresh" || o.srv.Count() != 2 || o.res.Attempts != 2 {
					t.Fatalf("got %q, %v after %d requests", o.res.Content, o.err, o.srv.Count())
				}
			}},
		{name: "eof before content is retried", responses: []llmtest.Response{roleOnlyEOF, llmtest.Stream("fresh")},
			check: func(t *testing.T, o outcome) {
				if o.err != nil || o.res.Content != "fresh" || o.srv.Count() != 2 {
					t.Fatalf("got %q, %v after %d requests", o.res.Content, o.err, o.srv.Count())
				}
			}},
		{name: "5xx after content never happens twice", responses: []llmtest.Response{{Steps: []llmtest.Step{
			llmtest.Data(llmtest.Chunk(map[string]any{"content": "a"}, nil)),
			llmtest.Data(`{"error":{"message":"overloaded","code":503}}`)}}},
			check: wantAPIErr(200, true, "overloaded", "", "503", 1)},
	})
}

func TestCancelClosesStream(t *testing.T) {
	t.Parallel()
	resp := llmtest.Response{Steps: []llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "first"}, nil)),
		llmtest.Hang(),
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "late"}, "stop")),
		llmtest.Done(),
	}}
	s := llmtest.New(t, resp)
	c := &llm.Client{BaseURL: s.URL(), APIKey: testKey}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err := c.Stream(ctx, basicRequest(), func(d llm.Delta) error {
		cancel() // the consumer goes away after the first piece
		return nil
	})
	s.Close()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Content != "first" {
		t.Errorf("partial = %q, want %q", res.Content, "first")
	}
	if r := s.Requests(); len(r) != 1 || !r[0].Left {
		t.Errorf("server saw %d requests (left: %v), want 1, which the client left while the server stalled", len(r), len(r) == 1 && r[0].Left)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the key: %v", err)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Stream("a", "b", "c"))
	c := &llm.Client{BaseURL: s.URL()}
	stop := errors.New("enough")
	res, err := c.Stream(t.Context(), basicRequest(), func(d llm.Delta) error { return stop })
	if err != stop || res.Content != "a" || s.Count() != 1 {
		t.Fatalf("got %q, %v after %d requests; want \"a\", the callback's error, 1 request", res.Content, err, s.Count())
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := &recorder{}
	c := &llm.Client{BaseURL: "http://user:" + testKey + "@" + addr + "/v1?key=" + testKey, APIKey: testKey,
		Retry: llm.RetryPolicy{Sleep: rec.sleep}}
	_, err = c.Stream(t.Context(), basicRequest(), rec.onDelta)
	if !llm.IsConnRefused(err) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	var se *llm.StreamError
	if !errors.As(err, &se) || se.Attempts != 3 || len(rec.recordedDelays()) != 2 {
		t.Errorf("err = %#v, delays %v: want 3 attempts", err, rec.recordedDelays())
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "user") {
		t.Errorf("error leaks credentials: %v", err)
	}
	if want := "server http://" + addr + "/v1/chat/completions: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestHTTPClientTimeoutIgnored(t *testing.T) {
	t.Parallel()
	resp := llmtest.Stream("a", "b")
	resp.Steps = append([]llmtest.Step{llmtest.Sleep(300 * time.Millisecond)}, resp.Steps...)
	s := llmtest.New(t, resp)
	c := &llm.Client{BaseURL: s.URL(), HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}
	res, err := c.Stream(t.Context(), basicRequest(), func(llm.Delta) error { return nil })
	if err != nil || res.Content != "ab" {
		t.Fatalf("got %q, %v; an http.Client.Timeout must not cap the stream", res.Content, err)
	}
}

func TestCancelWithCause(t *testing.T) {
	t.Parallel()
	resp := llmtest.Stream("x")
	resp.Delay = llmtest.HangLimit // the headers come only once the client left
	s := llmtest.New(t, resp)
	c := &llm.Client{BaseURL: s.URL()}
	interrupted := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(t.Context())
	c.Retry.OnRetry = func(int, time.Duration, error) { t.Error("retried after cancellation") }
	time.AfterFunc(50*time.Millisecond, func() { cancel(interrupted) })
	_, err := c.Stream(ctx, basicRequest(), func(llm.Delta) error { return nil })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, interrupted) {
		t.Fatalf("err = %v, want it to wrap context.Canceled and the cause", err)
	}
}

// A line longer than MaxLineBytes is a deterministic failure: it is not
// retried, and the error says what it is. Not parallel with the other
// tests, whose short timeouts its 32 MiB bodies could make expire on a
// loaded machine; its own timeouts are long for the same reason.
func TestLongLineNotRetried(t *testing.T) {
	long := "data: " + strings.Repeat("x", llm.MaxLineBytes+1) + "\n\n"
	patient := func(c *llm.Client) { c.HeaderTimeout, c.IdleTimeout = time.Minute, time.Minute }
	wantMessage := func(msg string) func(t *testing.T, o outcome) {
		return func(t *testing.T, o outcome) {
			t.Helper()
			if !strings.Contains(o.err.Error(), msg) {
				t.Errorf("err = %q, want it to say %q", o.err, msg)
			}
			if o.res.Attempts != 1 {
				t.Errorf("%d attempts, want 1", o.res.Attempts)
			}
		}
	}
	runCases(t, []matrixCase{
		{name: "first line", responses: []llmtest.Response{{Steps: []llmtest.Step{llmtest.Write(long)}}}, client: patient,
			check: func(t *testing.T, o outcome) {
				wantStreamErr(llm.ErrLineTooLong, "", 1)(t, o)
				wantMessage("server sent an SSE line longer than 33554432 bytes (32 MiB) after 0 chunks")(t, o)
				if errors.Is(o.err, llm.ErrTruncated) {
					t.Errorf("err = %v, reported as a truncated stream", o.err)
				}
			}},
		{name: "after a chunk", responses: []llmtest.Response{{Steps: []llmtest.Step{
			llmtest.Data(llmtest.Chunk(map[string]any{"content": "a"}, nil)), llmtest.Write(long)}}}, client: patient,
			check: func(t *testing.T, o outcome) {
				wantStreamErr(llm.ErrLineTooLong, "a", 1)(t, o)
				wantMessage("longer than 33554432 bytes (32 MiB) after 1 chunks")(t, o)
			}},
		{name: "json body", responses: []llmtest.Response{{ContentType: "application/json",
			Steps: []llmtest.Step{llmtest.Write(`{"x":"` + strings.Repeat("x", llm.MaxLineBytes) + `"}`)}}}, client: patient,
			check: func(t *testing.T, o outcome) {
				wantStreamErr(llm.ErrBadChunk, "", 1)(t, o)
				wantMessage("JSON body on a stream request larger than 33554432 bytes")(t, o)
			}},
	})
}
