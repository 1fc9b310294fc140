// Package redirect decides which HTTP redirects a client follows and which
// request headers go along, so that credentials stay with their origin.
//
// net/http copies every header of the first request to each redirect,
// dropping Authorization and Cookie only when the host name changes (not
// the port or the scheme, and not for a subdomain), and it follows a
// redirect from HTTPS to plain HTTP. A [Policy] installed as the client's
// CheckRedirect is stricter: on a redirect to another origin (scheme, host
// or port) it drops Authorization, Cookie, Proxy-Authorization and every
// header that holds a secret; it refuses a redirect from HTTPS to HTTP;
// and it follows at most Max redirects.
package redirect

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DefaultMax is the number of redirects followed when none is set: 10, as
// net/http does.
const DefaultMax = 10

// ErrRefused is wrapped by every error a [Policy] returns: a redirect that
// was not followed. The same request would be refused again, so it is not
// worth retrying.
var ErrRefused = errors.New("redirect refused")

// ErrTooMany is wrapped by the error for one redirect more than the
// limit; errors.Is(ErrTooMany, ErrRefused) is true.
var ErrTooMany error = &refused{"too many redirects"}

// refused is an error that is also ErrRefused.
type refused struct{ msg string }

func (e *refused) Error() string        { return e.msg }
func (e *refused) Is(target error) bool { return target == ErrRefused }

// credentialHeaders are dropped on every redirect to another origin,
// whatever their value.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// A Policy is the redirect rule of one client. The zero value follows up
// to DefaultMax redirects and drops the credential headers on a change of
// origin.
type Policy struct {
	// Max is the most redirects one request follows: 0 means DefaultMax;
	// a negative value follows none, and the client returns the redirect
	// response itself (status 3xx) instead of an error.
	Max int
	// SecretHeaders names headers that hold a secret whatever their
	// value, such as those set from environment variables.
	SecretHeaders []string
	// Secret reports whether a header value holds a secret (for example
	// (*secret.Set).Contains); nil means only SecretHeaders and the
	// credential headers are secret.
	Secret func(value string) bool
	// OnDrop, when not nil, is told about the headers dropped on a
	// redirect, naming the origins involved.
	OnDrop func(from, to string, headers []string)
}

func (p *Policy) max() int {
	if p.Max == 0 {
		return DefaultMax
	}
	return p.Max
}

// Check is an http.Client CheckRedirect function: req is the next request,
// via the requests made so far, oldest first. It removes from req the
// headers that must not leave the first request's origin, or returns an
// error wrapping ErrRefused (ErrTooMany past the limit), or
// http.ErrUseLastResponse when the policy follows no redirect.
func (p *Policy) Check(req *http.Request, via []*http.Request) error {
	if p.max() < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > p.max() {
		return fmt.Errorf("%w: stopped after %d", ErrTooMany, p.max())
	}
	first, prev := via[0].URL, via[len(via)-1].URL
	if strings.EqualFold(req.URL.Scheme, "http") {
		for _, r := range via {
			if strings.EqualFold(r.URL.Scheme, "https") {
				return fmt.Errorf("%w: %s redirected to %s, from HTTPS to plain HTTP, which would send the request unencrypted",
					ErrRefused, Origin(prev), Origin(req.URL))
			}
		}
	}
	if SameOrigin(first, req.URL) {
		return nil
	}
	var dropped []string
	for name, values := range req.Header {
		if p.secretHeader(name, values) {
			dropped = append(dropped, name)
			req.Header.Del(name)
		}
	}
	if len(dropped) > 0 && p.OnDrop != nil {
		slices.Sort(dropped)
		p.OnDrop(Origin(first), Origin(req.URL), dropped)
	}
	return nil
}

func (p *Policy) secretHeader(name string, values []string) bool {
	for _, h := range credentialHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	for _, h := range p.SecretHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	if p.Secret != nil {
		for _, v := range values {
			if p.Secret(v) {
				return true
			}
		}
	}
	return false
}

// Client returns a copy of c (nil: a client like http.DefaultClient) whose
// redirects follow p, then c's own CheckRedirect if it has one. The copy
// shares c's transport, so connections are still reused.
func (p *Policy) Client(c *http.Client) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	}
	inner := cc.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := p.Check(req, via); err != nil {
			return err
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &cc
}

// SameOrigin reports whether a and b have the same scheme, host and port
// (a missing port is the scheme's default).
func SameOrigin(a, b *url.URL) bool {
	return Origin(a) == Origin(b)
}

// Origin returns scheme://host:port of u, lower-cased, with the scheme's
// default port when u has none. It holds no user information, path or
// query, so it can be shown.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	return scheme + "://" + host + ":" + port
}
