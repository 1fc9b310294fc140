package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/internal/redirect"
)

// Default timeouts. A stream has no overall deadline: connecting, the
// response headers (a local server reads the whole prompt first) and each
// silence in the middle of a response are bounded separately.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 120 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
)

// A Client talks to one OpenAI-compatible server. Set the fields before the
// first call and do not change or copy them afterwards; a Client is then
// safe for concurrent use. The zero value of every field but BaseURL has a
// documented default.
type Client struct {
	// BaseURL is the API root, such as "http://127.0.0.1:8080/v1"; requests
	// go to BaseURL + "/chat/completions".
	BaseURL string
	// APIKey, when not empty, is sent as "Authorization: Bearer <key>". It
	// never appears in an error.
	APIKey string
	// HTTPClient sends the requests. Nil means a client of its own whose
	// dialer and TLS handshake time out after ConnectTimeout. The client's
	// Timeout field is ignored (a copy with Timeout zero is used), since it
	// would cap the whole stream; the timeouts below replace it.
	HTTPClient *http.Client
	// ConnectTimeout bounds dialling and the TLS handshake of the default
	// HTTP client (default [DefaultConnectTimeout]).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait from sending a request to its response
	// headers (default [DefaultHeaderTimeout]; llama.cpp processes the
	// whole prompt before it sends them).
	HeaderTimeout time.Duration
	// IdleTimeout bounds each wait for more bytes of a response body
	// (default [DefaultIdleTimeout]); SSE comments count as bytes. Time the
	// caller's onDelta spends is not counted.
	IdleTimeout time.Duration
	// Retry is the retry policy.
	Retry RetryPolicy
	// Redirects is the redirect policy. Its zero value follows up to
	// [redirect.DefaultMax] redirects; on a redirect to another origin
	// (scheme, host or port) the Authorization header, and any header
	// whose value Redirects.Secret reports, is not sent; a redirect from
	// HTTPS to HTTP is refused. A refused redirect is not retried.
	Redirects redirect.Policy

	once    sync.Once
	httpCli *http.Client
}

// A Message is one entry of the conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// A Request describes one chat completion. Zero-valued optional fields are
// omitted from the JSON body rather than sent as null.
type Request struct {
	Model    string
	Messages []Message
	// Temperature, when not nil, is sent as "temperature".
	Temperature *float64
	// MaxTokens, when positive, limits the answer. It is sent as
	// "max_tokens", or as "max_completion_tokens" when
	// UseMaxCompletionTokens is set (OpenAI's reasoning models reject
	// max_tokens; Ollama knows only max_tokens).
	MaxTokens              int
	UseMaxCompletionTokens bool
	// IncludeUsage asks for a final usage chunk
	// (stream_options.include_usage).
	IncludeUsage bool
	// IdempotencyKey, when not empty, is sent as the Idempotency-Key
	// header, the same on every retry, so that a server that supports it
	// answers a repeated request once.
	IdempotencyKey string
}

// A Delta is one piece of the answer as it arrives. Reasoning text (the
// "reasoning_content" or "reasoning" fields some servers send) is kept
// apart from Content; at least one of them is not empty.
type Delta struct {
	Content   string
	Reasoning string
}

// Usage is the token accounting a server reported.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// A Result is what a stream produced. [Client.Stream] returns it also with
// an error, holding what arrived before the failure.
type Result struct {
	// Content and Reasoning are the concatenated deltas.
	Content   string
	Reasoning string
	// FinishReason is the server's finish_reason: "stop", "length" (the
	// answer was cut by the token limit), "tool_calls", "content_filter";
	// "" when none arrived.
	FinishReason string
	// Usage is nil when the server sent no usage.
	Usage *Usage
	// Model and ID are taken from the chunks.
	Model string
	ID    string
	// Done reports that "data: [DONE]" was received.
	Done bool
	// Attempts is the number of requests made, retries included.
	Attempts int
}

// Endpoint returns the chat-completions URL that errors name: BaseURL +
// "/chat/completions" without user information or query string.
func (c *Client) Endpoint() string {
	return redactURL(c.endpoint())
}

func (c *Client) endpoint() string {
	base := strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(base); err == nil && u.RawQuery != "" {
		u.Path = strings.TrimRight(u.Path, "/") + "/chat/completions"
		return u.String()
	}
	return base + "/chat/completions"
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

func (c *Client) client() *http.Client {
	c.once.Do(func() {
		base := c.HTTPClient
		if base == nil {
			base = NewHTTPClient(orDefault(c.ConnectTimeout, DefaultConnectTimeout))
		}
		c.httpCli = c.Redirects.Client(base) // a copy
		c.httpCli.Timeout = 0
	})
	return c.httpCli
}

// NewHTTPClient returns an HTTP client suited to streams: dialling and TLS
// handshakes time out after connectTimeout, and nothing caps the time a
// response body takes.
func NewHTTPClient(connectTimeout time.Duration) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: connectTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        10,
		IdleConnTimeout:     90 * time.Second,
	}}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// wireRequest is the JSON body.
type wireRequest struct {
	Model               string         `json:"model,omitempty"`
	Messages            []Message      `json:"messages"`
	Stream              bool           `json:"stream"`
	Temperature         *float64       `json:"temperature,omitempty"`
	MaxTokens           int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens int            `json:"max_completion_tokens,omitempty"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Body returns the JSON body [Client.Stream] sends for r.
func (r Request) Body() ([]byte, error) {
	w := wireRequest{Model: r.Model, Messages: r.Messages, Stream: true, Temperature: r.Temperature}
	if w.Messages == nil {
		w.Messages = []Message{}
	}
	if r.MaxTokens > 0 {
		if r.UseMaxCompletionTokens {
			w.MaxCompletionTokens = r.MaxTokens
		} else {
			w.MaxTokens = r.MaxTokens
		}
	}
	if r.IncludeUsage {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return json.Marshal(w)
}

// timeoutCause is the cause given to an attempt's context when one of our
// own timers fires, so that it is told apart from the caller's cancellation.
type timeoutCause struct {
	err   error
	after time.Duration
}

func (t *timeoutCause) Error() string { return fmt.Sprintf("%v (timeout %v)", t.err, t.after) }
func (t *timeoutCause) Unwrap() error { return t.err }

// Stream sends req with stream:true and calls onDelta for every piece of
// text as it arrives, in order. It returns when the answer is complete, on
// the first error, or when ctx is done; the Result holds what arrived in
// every case.
//
// A stream is complete when "data: [DONE]" arrives, or when it ends after a
// chunk with a finish_reason. Any other end is an error: a
// [*StreamError] wrapping [ErrTruncated] (clean EOF, or the connection cut
// mid-body), an [*APIError] for an error status or an error event (a
// "data: {"error":…}" event or llama.cpp's legacy "error:" field), or a
// [*StreamError] for transport failures and timeouts.
//
// Failures are retried by c.Retry only while nothing has been passed to
// onDelta, so the caller never sees text twice. An error returned by
// onDelta ends the stream and is returned as is. When ctx is done, Stream
// closes the response body (the server sees the client go away) and
// returns an error wrapping context.Cause(ctx).
func (c *Client) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (Result, error) {
	body, err := req.Body()
	if err != nil {
		return Result{}, fmt.Errorf("encode request: %w", err)
	}
	var res Result
	for attempt := 0; ; attempt++ {
		res = Result{Attempts: attempt + 1}
		delivered := false
		hdr, err := c.attempt(ctx, body, req.IdempotencyKey, &res, func(d Delta) error {
			delivered = true
			return onDelta(d)
		})
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, c.cancelled(ctx)
		}
		var cbErr *callbackError
		if errors.As(err, &cbErr) {
			return res, cbErr.err
		}
		retry, delay, giveUp := c.Retry.decide(attempt, hdr, err, delivered)
		if !retry {
			// Only the final error counts the attempts ("gave up after
			// N attempts"); an error that will be retried does not.
			setAttempts(err, attempt+1, giveUp)
			return res, err
		}
		if c.Retry.OnRetry != nil {
			c.Retry.OnRetry(attempt+1, delay, err)
		}
		if err := c.Retry.sleep(ctx, delay); err != nil {
			return res, c.cancelled(ctx)
		}
	}
}

// cancelled returns the error for a request stopped because ctx is done.
// It wraps both ctx.Err() and the cause, so that errors.Is finds
// context.Canceled even when the canceller gave its own cause.
func (c *Client) cancelled(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == nil || cause == ctx.Err() {
		return fmt.Errorf("chat request to %s: %w", c.Endpoint(), ctx.Err())
	}
	return fmt.Errorf("chat request to %s: %w: %w", c.Endpoint(), ctx.Err(), cause)
}

func setAttempts(err error, n int, retryAfter string) {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Attempts = n
		ae.RetryAfter = retryAfter
		return
	}
	var se *StreamError
	if errors.As(err, &se) {
		se.Attempts = n
	}
}

// callbackError marks an error returned by onDelta.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// attempt makes one request. It returns the response headers (nil when
// none arrived) for the retry decision.
func (c *Client) attempt(ctx context.Context, body []byte, key string, res *Result, onDelta func(Delta) error) (http.Header, error) {
	server := c.Endpoint()
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return nil, &StreamError{Server: server, Err: fmt.Errorf("%w: %v", ErrBadURL, unwrapURL(err))}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if key != "" {
		hreq.Header.Set("Idempotency-Key", key)
	}
	if c.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.APIKey)
	}

	headerTimeout := orDefault(c.HeaderTimeout, DefaultHeaderTimeout)
	headerTimer := time.AfterFunc(headerTimeout, func() {
		cancel(&timeoutCause{ErrHeaderTimeout, headerTimeout})
	})
	resp, err := c.client().Do(hreq)
	headerTimer.Stop()
	if err != nil {
		return nil, c.transportError(actx, err)
	}
	defer resp.Body.Close()

	idle := orDefault(c.IdleTimeout, DefaultIdleTimeout)
	idleTimer := time.AfterFunc(idle, func() { cancel(&timeoutCause{ErrIdleTimeout, idle}) })
	idleTimer.Stop()
	defer idleTimer.Stop()
	br := &idleReader{r: resp.Body, t: idleTimer, d: idle}

	if resp.StatusCode != http.StatusOK {
		data, rerr := io.ReadAll(io.LimitReader(br, 64<<10))
		if rerr != nil && len(data) == 0 {
			return resp.Header, c.transportError(actx, rerr)
		}
		ae := &APIError{Server: server, Status: resp.StatusCode}
		parseErrorBody(ae, data)
		c.scrub(ae)
		return resp.Header, ae
	}

	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "text/event-stream", "":
		err = c.readStream(actx, br, res, onDelta)
	case "application/json":
		err = c.readJSON(actx, br, res, onDelta)
	default:
		data, _ := io.ReadAll(io.LimitReader(br, 4<<10))
		err = &StreamError{Server: server, Err: fmt.Errorf("%w %q on a 200 response: %s", ErrContentType, ct, c.scrubText(shorten(data)))}
	}
	return resp.Header, err
}

// transportError turns an error of the HTTP exchange into a *StreamError,
// naming our own timeout when one of ours fired.
func (c *Client) transportError(actx context.Context, err error) error {
	var tc *timeoutCause
	if errors.As(context.Cause(actx), &tc) {
		err = tc
	} else {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which may hold a query
		}
	}
	return &StreamError{Server: c.Endpoint(), Err: err}
}

// idleReader arms a timer only while it waits in Read, so that time spent
// by the caller between reads does not count as the server being idle.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.t.Reset(ir.d)
	n, err := ir.r.Read(p)
	ir.t.Stop()
	return n, err
}

// chunk is the lenient decoding of a chat.completion.chunk (and, for
// readJSON, of a chat.completion).
type chunk struct {
	ID      string          `json:"id"`
	Model   string          `json:"model"`
	Choices []choice        `json:"choices"`
	Usage   json.RawMessage `json:"usage"`
	XGroq   *struct {
		Usage json.RawMessage `json:"usage"`
	} `json:"x_groq"`
	Error json.RawMessage `json:"error"`
}

type choice struct {
	Index        int             `json:"index"`
	Delta        *delta          `json:"delta"`
	Message      *delta          `json:"message"`
	FinishReason json.RawMessage `json:"finish_reason"`
}

type delta struct {
	Content          json.RawMessage `json:"content"`
	ReasoningContent json.RawMessage `json:"reasoning_content"`
	Reasoning        json.RawMessage `json:"reasoning"`
}

// apply folds one decoded chunk into res and returns the text to deliver.
func (ch *chunk) apply(res *Result) (d Delta, finished bool) {
	if ch.ID != "" {
		res.ID = ch.ID
	}
	if ch.Model != "" {
		res.Model = ch.Model
	}
	if u := decodeUsage(ch.Usage); u != nil {
		res.Usage = u
	}
	if ch.XGroq != nil {
		if u := decodeUsage(ch.XGroq.Usage); u != nil {
			res.Usage = u
		}
	}
	for _, c := range ch.Choices {
		if c.Index != 0 {
			continue // only with n > 1, which is never sent
		}
		dd := c.Delta
		if dd == nil {
			dd = c.Message
		}
		if dd != nil {
			d.Content += stringField(dd.Content)
			d.Reasoning += stringField(dd.ReasoningContent) + stringField(dd.Reasoning)
		}
		if fr := stringField(c.FinishReason); fr != "" {
			res.FinishReason = fr
			finished = true
		}
	}
	res.Content += d.Content
	res.Reasoning += d.Reasoning
	return d, finished
}

// stringField decodes a JSON string and returns "" for null, absence or any
// other type.
func stringField(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func decodeUsage(raw json.RawMessage) *Usage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var u Usage
	if json.Unmarshal(raw, &u) != nil {
		return nil
	}
	return &u
}

// readStream reads an event stream to its end and classifies the ending.
func (c *Client) readStream(actx context.Context, body io.Reader, res *Result, onDelta func(Delta) error) error {
	server := c.Endpoint()
	sr := newSSEReader(body)
	finished := false
	chunks := 0
	for {
		ev, err := sr.next()
		if err != nil {
			if finished {
				return nil // complete: EOF (or a broken tail) after finish_reason
			}
			if errors.Is(err, ErrLineTooLong) {
				return &StreamError{Server: server, Err: fmt.Errorf("%w after %d chunks", ErrLineTooLong, chunks)}
			}
			if err == io.EOF || err == errPartialEvent {
				return &StreamError{Server: server, Err: fmt.Errorf("%w: no finish_reason and no [DONE] after %d chunks", ErrTruncated, chunks)}
			}
			if terr := c.transportError(actx, err); errors.Is(terr, ErrIdleTimeout) {
				return terr
			}
			return &StreamError{Server: server, Err: fmt.Errorf("%w: %w", ErrTruncated, unwrapURL(err))}
		}
		if ev.HasError {
			ae := &APIError{Server: server, Status: http.StatusOK, InStream: true}
			parseErrorBody(ae, ev.Error)
			c.scrub(ae)
			return ae
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 || data[0] == ':' {
			continue // empty data or "data: : ping" from non-conforming gateways
		}
		if string(data) == "[DONE]" {
			res.Done = true
			return nil
		}
		if ev.Event == "error" {
			ae := &APIError{Server: server, Status: http.StatusOK, InStream: true}
			parseErrorBody(ae, data)
			c.scrub(ae)
			return ae
		}
		var ch chunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return &StreamError{Server: server, Err: fmt.Errorf("%w: %v: %s", ErrBadChunk, err, c.scrubText(shorten(data)))}
		}
		if e := bytes.TrimSpace(ch.Error); len(e) > 0 && string(e) != "null" {
			ae := &APIError{Server: server, Status: http.StatusOK, InStream: true}
			parseErrorBody(ae, data)
			c.scrub(ae)
			return ae
		}
		chunks++
		d, fin := ch.apply(res)
		finished = finished || fin
		if d.Content != "" || d.Reasoning != "" {
			if err := onDelta(d); err != nil {
				return &callbackError{err}
			}
		}
	}
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readJSON accepts a non-stream answer sent despite stream:true (a
// misconfigured server or proxy): an error object, or one chat.completion
// delivered as a single delta.
func (c *Client) readJSON(actx context.Context, body io.Reader, res *Result, onDelta func(Delta) error) error {
	server := c.Endpoint()
	data, err := io.ReadAll(io.LimitReader(body, MaxLineBytes+1))
	if err != nil {
		return c.transportError(actx, err)
	}
	if len(data) > MaxLineBytes {
		return &StreamError{Server: server, Err: fmt.Errorf("%w: JSON body on a stream request larger than %d bytes", ErrBadChunk, MaxLineBytes)}
	}
	var ch chunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return &StreamError{Server: server, Err: fmt.Errorf("%w: JSON body on a stream request: %v: %s", ErrBadChunk, err, c.scrubText(shorten(data)))}
	}
	if e := bytes.TrimSpace(ch.Error); len(e) > 0 && string(e) != "null" {
		ae := &APIError{Server: server, Status: http.StatusOK}
		parseErrorBody(ae, data)
		c.scrub(ae)
		return ae
	}
	d, fin := ch.apply(res)
	if !fin {
		return &StreamError{Server: server, Err: fmt.Errorf("%w: JSON body without finish_reason", ErrTruncated)}
	}
	if d.Content != "" || d.Reasoning != "" {
		if err := onDelta(d); err != nil {
			return &callbackError{err}
		}
	}
	return nil
}

// scrub removes the API key from server-provided text in ae.
func (c *Client) scrub(ae *APIError) {
	ae.Message = c.scrubText(ae.Message)
	ae.Param = c.scrubText(ae.Param)
	ae.Type = c.scrubText(ae.Type)
	if c.APIKey != "" && bytes.Contains(ae.Code, []byte(c.APIKey)) {
		ae.Code = nil
	}
}

func (c *Client) scrubText(s string) string {
	if c.APIKey == "" {
		return s
	}
	return strings.ReplaceAll(s, c.APIKey, "[redacted]")
}
