package redirect

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestOrigin(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"http://Example.com/x", "http://example.com:80/y?q=1"},
		{"https://example.com", "HTTPS://EXAMPLE.COM:443"},
		{"http://u:p@127.0.0.1:8080/a", "http://127.0.0.1:8080/b"},
		{"http://[::1]:80/", "http://[::1]/"},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if !SameOrigin(a, b) {
			t.Errorf("%s and %s: not the same origin (%s, %s)", tc.a, tc.b, Origin(a), Origin(b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"http://example.com", "https://example.com"},
		{"http://example.com", "http://api.example.com"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081"},
		{"http://127.0.0.1", "http://localhost"},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if SameOrigin(a, b) {
			t.Errorf("%s and %s: the same origin", tc.a, tc.b)
		}
	}
	u, _ := url.Parse("http://user:pw@[::1]:8080/p?key=v")
	if got := Origin(u); got != "http://[::1]:8080" {
		t.Errorf("Origin = %q", got)
	}
}

// request returns a redirect request to target carrying headers.
func request(t *testing.T, target string, headers map[string]string) *http.Request {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

func via(t *testing.T, urls ...string) []*http.Request {
	var rs []*http.Request
	for _, u := range urls {
		rs = append(rs, request(t, u, nil))
	}
	return rs
}

func TestCheck(t *testing.T) {
	headers := map[string]string{
		"Authorization": "Bearer x", "Cookie": "c=1", "Proxy-Authorization": "Basic y",
		"X-Api-Key": "short", "X-Has-Secret": "Bearer the-secret-value", "X-Trace": "1",
	}
	var dropped []string
	p := &Policy{
		Max:           3,
		SecretHeaders: []string{"x-api-key"},
		Secret:        func(v string) bool { return v == "Bearer the-secret-value" },
		OnDrop:        func(from, to string, h []string) { dropped = append(dropped, from+" "+to) },
	}

	req := request(t, "http://a.test:8081/next", headers)
	if err := p.Check(req, via(t, "http://a.test:8080/")); err != nil {
		t.Fatal(err)
	}
	if got := req.Header; len(got) != 1 || got.Get("X-Trace") != "1" {
		t.Errorf("headers to another port: %v, want only X-Trace", got)
	}
	if want := []string{"http://a.test:8080 http://a.test:8081"}; !reflect.DeepEqual(dropped, want) {
		t.Errorf("OnDrop told %q, want %q", dropped, want)
	}

	// Back to the first origin after another one: the credentials go
	// again, since net/http copies them from the first request.
	req = request(t, "http://a.test:8080/back", headers)
	if err := p.Check(req, via(t, "http://a.test:8080/", "http://b.test/")); err != nil {
		t.Fatal(err)
	}
	if len(req.Header) != len(headers) {
		t.Errorf("headers back at the first origin: %v", req.Header)
	}

	err := p.Check(request(t, "http://a.test/", nil), via(t, "http://a.test/", "https://a.test/"))
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrTooMany) {
		t.Errorf("https to http: err = %v", err)
	}
	err = p.Check(request(t, "https://a.test/", nil), via(t, "http://a.test/", "http://a.test/2", "http://a.test/3", "http://a.test/4"))
	if !errors.Is(err, ErrTooMany) || !errors.Is(err, ErrRefused) || err.Error() != "too many redirects: stopped after 3" {
		t.Errorf("past the limit: err = %v", err)
	}
	if err := (&Policy{Max: -1}).Check(request(t, "http://a.test/", nil), via(t, "http://a.test/")); err != http.ErrUseLastResponse {
		t.Errorf("Max -1: err = %v, want http.ErrUseLastResponse", err)
	}
}

func TestClientChains(t *testing.T) {
	inner := errors.New("inner says no")
	base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return inner }}
	c := (&Policy{}).Client(base)
	if c == base {
		t.Fatal("Client returned the same client")
	}
	req := request(t, "http://b.test/", map[string]string{"Authorization": "x"})
	if err := c.CheckRedirect(req, via(t, "http://a.test/")); err != inner {
		t.Errorf("err = %v, want the inner CheckRedirect's", err)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the policy did not run before the inner CheckRedirect")
	}
	if (&Policy{}).Client(nil).CheckRedirect == nil {
		t.Error("Client(nil) has no CheckRedirect")
	}
}
