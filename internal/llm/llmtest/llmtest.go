// Package llmtest is a scriptable fake OpenAI-compatible chat-completions
// server for tests. It listens on 127.0.0.1 only, answers each request
// with the next scripted [Response] (a status, headers and a list of steps:
// write bytes, sleep, hang until the client goes away, cut the connection) and records every request it saw,
// so a test can assert the method, path, headers and decoded JSON body.
//
// The helpers ([Stream], [Ollama], [Groq], [Reasoning], [Error], …) build
// the responses of the servers flowrun talks to, one per server quirk or
// failure: llama.cpp's legacy "error:" field, Ollama's and Groq's ways,
// reasoning fields, error bodies, cut streams.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Step is one action of a scripted response body.
type Step struct {
	write      []byte
	sleep      time.Duration
	until      <-chan struct{} // ends the sleep early
	disconnect bool
}

// Write writes s and flushes it to the client, so that each Write reaches
// the client as its own TCP segment in practice.
func Write(s string) Step { return Step{write: []byte(s)} }

// Sleep pauses the response for d, or until the client goes away.
func Sleep(d time.Duration) Step { return Step{sleep: d} }

// HangLimit is how long a [Hang] step waits at most.
const HangLimit = time.Minute

// Hang pauses the response until the client goes away: a server that
// stalls. It gives up after [HangLimit] and goes on with the next step,
// so that a client that never gives up fails its test instead of hanging
// it. [Request.Left] tells which requests the client left.
func Hang() Step { return Step{sleep: HangLimit} }

// Wait pauses the response until ch is closed, or the client goes away,
// or [HangLimit] passes: the test decides when the response goes on.
func Wait(ch <-chan struct{}) Step { return Step{sleep: HangLimit, until: ch} }

// Disconnect hijacks the connection and closes it without finishing the
// chunked body: the client sees an unexpected EOF.
func Disconnect() Step { return Step{disconnect: true} }

// Data writes one SSE event "data: <json of v>\n\n"; a string v is written
// verbatim.
func Data(v any) Step {
	if s, ok := v.(string); ok {
		return Write("data: " + s + "\n\n")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("llmtest.Data: %v", err))
	}
	return Write("data: " + string(b) + "\n\n")
}

// Done writes "data: [DONE]\n\n".
func Done() Step { return Write("data: [DONE]\n\n") }

// A Response is the scripted answer to one request.
type Response struct {
	// Status defaults to 200.
	Status int
	// ContentType defaults to "text/event-stream" for status 200 and
	// "application/json" otherwise; "-" sends no Content-Type header.
	ContentType string
	// Header holds extra response headers.
	Header map[string]string
	// Delay is slept before the headers are sent (llama.cpp processes the
	// prompt before it answers).
	Delay time.Duration
	// Steps make the body.
	Steps []Step
}

// A Request is what the server saw.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Raw is the body; Body is Raw decoded as a JSON object (nil when it
	// is not one).
	Raw  []byte
	Body map[string]any
	// Left reports that the client went away while the response was
	// paused (by a Sleep, Hang or Wait step, or the Delay). It is final once the
	// server is closed ([Server.Close]).
	Left bool
}

// A Server is a running fake server. Create it with [New].
type Server struct {
	srv *httptest.Server

	mu         sync.Mutex
	script     []Response
	requests   []Request
	fallback   *Response
	unscripted int
}

// New starts a server on 127.0.0.1 that answers requests with responses in
// order, and closes it when the test ends. A request beyond the script gets
// a 500 error (or the response set with [Server.SetFallback]) and is counted
// by [Server.Unscripted].
func New(tb testing.TB, responses ...Response) *Server {
	tb.Helper()
	s := &Server{script: responses}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// Close shuts the server down and waits until every request has been
// answered, so that [Server.Requests] and [Server.Count] are final. It is
// also called when the test ends.
func (s *Server) Close() { s.srv.Close() }

// URL returns the base URL to give a client, ending in "/v1".
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Root returns the server's root URL, without "/v1".
func (s *Server) Root() string { return s.srv.URL }

// Push appends responses to the script.
func (s *Server) Push(responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, responses...)
}

// SetFallback sets the response given once the script is used up.
func (s *Server) SetFallback(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = &r
}

// Requests returns a copy of the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns the number of requests seen so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Unscripted returns the number of requests that found the script empty.
func (s *Server) Unscripted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unscripted
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	var body map[string]any
	if json.Unmarshal(raw, &body) == nil {
		req.Body = body
	}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	index := len(s.requests) - 1
	var resp Response
	switch {
	case len(s.script) > 0:
		resp, s.script = s.script[0], s.script[1:]
	case s.fallback != nil:
		resp = *s.fallback
	default:
		s.unscripted++
		resp = Error(http.StatusInternalServerError, `{"error":{"message":"llmtest: no scripted response left","type":"server_error"}}`)
	}
	s.mu.Unlock()

	left := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests[index].Left = true
	}
	if resp.Delay > 0 && !sleep(r, resp.Delay, nil) {
		left()
		return
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	ct := resp.ContentType
	if ct == "" {
		ct = "application/json"
		if status == http.StatusOK {
			ct = "text/event-stream"
		}
	}
	if ct != "-" {
		w.Header().Set("Content-Type", ct)
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for _, st := range resp.Steps {
		switch {
		case st.disconnect:
			conn, _, err := rc.Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case st.sleep > 0:
			if !sleep(r, st.sleep, st.until) {
				left()
				return
			}
		default:
			if _, err := w.Write(st.write); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// sleep waits for d, or until until is closed (nil: never), or until the
// client goes away; it reports whether the client is still there.
func sleep(r *http.Request, d time.Duration, until <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-until:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Chunk returns a chat.completion.chunk object whose choice 0 has the given
// delta and finish_reason (nil for JSON null).
func Chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id":      "chatcmpl-llmtest",
		"object":  "chat.completion.chunk",
		"created": 1795619560,
		"model":   "llmtest",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
	}
}

// UsageChunk returns the include_usage chunk: empty choices and a usage.
func UsageChunk(prompt, completion int) map[string]any {
	return map[string]any{
		"id": "chatcmpl-llmtest", "object": "chat.completion.chunk", "model": "llmtest",
		"choices": []any{},
		"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	}
}

// Stream is fault-matrix row 1, the canonical stream of OpenAI, llama.cpp
// and the node server: a role chunk with null content, one chunk per piece,
// a finish chunk with an empty delta, a usage chunk with empty choices and
// [DONE].
func Stream(pieces ...string) Response {
	steps := []Step{Data(Chunk(map[string]any{"role": "assistant", "content": nil}, nil))}
	for _, p := range pieces {
		steps = append(steps, Data(Chunk(map[string]any{"content": p}, nil)))
	}
	steps = append(steps,
		Data(Chunk(map[string]any{}, "stop")),
		Data(UsageChunk(7, len(pieces))),
		Done())
	return Response{Steps: steps}
}

// Ollama is row 2: the role repeated in every delta, the finish_reason on a
// chunk with content "", system_fingerprint "fp_ollama", and no usage.
func Ollama(pieces ...string) Response {
	var steps []Step
	for _, p := range pieces {
		c := Chunk(map[string]any{"role": "assistant", "content": p}, nil)
		c["system_fingerprint"] = "fp_ollama"
		steps = append(steps, Data(c))
	}
	c := Chunk(map[string]any{"role": "assistant", "content": ""}, "stop")
	c["system_fingerprint"] = "fp_ollama"
	return Response{Steps: append(steps, Data(c), Done())}
}

// Groq is row 3: usage only under x_groq.usage on the last chunk.
func Groq(pieces ...string) Response {
	steps := []Step{Data(Chunk(map[string]any{"role": "assistant", "content": ""}, nil))}
	for _, p := range pieces {
		steps = append(steps, Data(Chunk(map[string]any{"content": p}, nil)))
	}
	last := Chunk(map[string]any{}, "stop")
	last["x_groq"] = map[string]any{"id": "req_01", "usage": map[string]any{
		"queue_time": 0.01, "prompt_tokens": 11, "prompt_time": 0.002,
		"completion_tokens": len(pieces), "completion_time": 0.01, "total_tokens": 11 + len(pieces), "total_time": 0.012}}
	return Response{Steps: append(steps, Data(last), Done())}
}

// Reasoning is row 4: reasoning deltas under field (either
// "reasoning_content" or "reasoning"), then content deltas.
func Reasoning(field string, thoughts []string, pieces ...string) Response {
	steps := []Step{Data(Chunk(map[string]any{"role": "assistant", "content": nil}, nil))}
	for _, t := range thoughts {
		steps = append(steps, Data(Chunk(map[string]any{field: t, "content": nil}, nil)))
	}
	for _, p := range pieces {
		steps = append(steps, Data(Chunk(map[string]any{"content": p}, nil)))
	}
	return Response{Steps: append(steps, Data(Chunk(map[string]any{}, "stop")), Done())}
}

// Error is an error response with a status and a raw body.
func Error(status int, body string) Response {
	return Response{Status: status, Steps: []Step{Write(body)}}
}

// Event returns the text of one SSE event with the given lines, each ended
// by eol, followed by a blank line.
func Event(eol string, lines ...string) string {
	return strings.Join(lines, eol) + eol + eol
}
