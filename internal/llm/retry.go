package llm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/internal/redirect"
	"github.com/flowrun/flowrun/registry"
)

// Default retry settings, those of openai-go and openai-python.
const (
	DefaultMaxRetries    = 2
	DefaultBaseDelay     = 500 * time.Millisecond
	DefaultMaxDelay      = 8 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
)

// A RetryPolicy says when and how long to wait before a failed request is
// sent again. Requests are retried only while nothing has reached the
// caller's onDelta, on connection failures, timeouts, streams that broke
// before any text, and HTTP 408, 409, 429 and 5xx (an "x-should-retry:
// true|false" header overrides the status). Errors the server reports
// inside a stream, bad chunks, unexpected content types, lines longer
// than [MaxLineBytes] and refused redirects are not retried: the same
// request would fail the same way. The zero value is the default policy.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt:
	// 0 means DefaultMaxRetries, a negative value disables retries.
	MaxRetries int
	// BaseDelay and MaxDelay shape the exponential backoff, BaseDelay·2^n
	// capped at MaxDelay, minus up to 25% jitter (defaults
	// DefaultBaseDelay, DefaultMaxDelay).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps the delay a server may ask for with
	// "retry-after-ms" or "Retry-After" (seconds or an HTTP date). When the
	// server asks for more, the client gives up at once and the error says
	// how long the server wanted (default DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration
	// Sleep waits before a retry; nil means a timer that stops early when
	// ctx is done. Tests set it to record the delays.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when not nil, is told about each retry before the wait.
	OnRetry func(attempt int, delay time.Duration, err error)
	// Now returns the current time for HTTP-date Retry-After values; nil
	// means time.Now.
	Now func() time.Time
}

func (p *RetryPolicy) maxRetries() int {
	switch {
	case p.MaxRetries < 0:
		return 0
	case p.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return p.MaxRetries
}

func (p *RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return registry.Sleep(ctx, d)
}

// decide says whether attempt n (0-based) that failed with err is retried
// and after how long. giveUp is set to the server's requested delay when
// that delay exceeded MaxRetryAfter.
func (p *RetryPolicy) decide(n int, h http.Header, err error, delivered bool) (retry bool, delay time.Duration, giveUp string) {
	if delivered || n >= p.maxRetries() || !retryable(h, err) {
		return false, 0, ""
	}
	if d, text, ok := p.retryAfter(h); ok {
		if d > orDefault(p.MaxRetryAfter, DefaultMaxRetryAfter) {
			return false, 0, text
		}
		return true, d, ""
	}
	return true, p.backoff(n), ""
}

func retryable(h http.Header, err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.InStream {
			return false
		}
		switch strings.ToLower(h.Get("x-should-retry")) {
		case "true":
			return true
		case "false":
			return false
		}
		s := ae.Status
		return s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500
	}
	if errors.Is(err, ErrBadChunk) || errors.Is(err, ErrContentType) || errors.Is(err, ErrBadURL) || errors.Is(err, ErrLineTooLong) ||
		errors.Is(err, redirect.ErrRefused) {
		return false
	}
	var se *StreamError
	return errors.As(err, &se)
}

// retryAfter reads retry-after-ms, then Retry-After as seconds (a float
// is accepted) or an HTTP date. Values that are not positive are ignored.
func (p *RetryPolicy) retryAfter(h http.Header) (time.Duration, string, bool) {
	if h == nil {
		return 0, "", false
	}
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			d := time.Duration(ms * float64(time.Millisecond))
			return d, d.String(), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, "", false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && !math.IsInf(s, 0) && s < float64(math.MaxInt64/int64(time.Second)) {
			d := time.Duration(s * float64(time.Second))
			return d, d.String(), true
		}
		return 0, "", false
	}
	if t, err := http.ParseTime(v); err == nil {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		if d := t.Sub(now()); d > 0 {
			return d, d.Round(time.Second).String(), true
		}
	}
	return 0, "", false
}

func (p *RetryPolicy) backoff(n int) time.Duration {
	base := orDefault(p.BaseDelay, DefaultBaseDelay)
	maxd := orDefault(p.MaxDelay, DefaultMaxDelay)
	d := maxd
	if n < 30 {
		d = min(base<<n, maxd)
	}
	jitter := 1 - 0.25*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
