package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/flowrun/flowrun/internal/redirect"
	"github.com/flowrun/flowrun/registry"
)

// httpMaxBody bounds the size of a response body the node reads.
const httpMaxBody = 32 << 20

func httpRequestSpec() registry.Spec {
	return registry.Spec{
		Type:    "http.request",
		Effects: []registry.Effect{registry.Net},
		Doc: "Sends an HTTP request and gives the response body.\n\n" +
			"A non-null body is sent as JSON (Content-Type application/json unless headers set it). " +
			"A response whose Content-Type is JSON is decoded, any other is given as a string. " +
			"A status of 400 or more is an error naming the status and the start of the body. " +
			"headers_env adds headers whose values come from environment variables (for API keys), " +
			"read when the node runs; an unset variable is an error. The whole request, body included, " +
			"must finish within timeout.\n\n" +
			"Every request carries the header Idempotency-Key: <flow run>/<node>/<generation>, the same when the run is " +
			"retried or, on a cluster, delivered again to another worker after the one running it died, so that an API " +
			"that deduplicates by it (Stripe's, or any following the IETF Idempotency-Key draft) acts once; a header of " +
			"that name in headers replaces it.\n\n" +
			"Redirects are followed up to max_redirects times. Credentials stay with their origin: on a redirect to " +
			"another origin (another scheme, host or port, a subdomain included) the request loses its Authorization, " +
			"Cookie and Proxy-Authorization headers, every header set through headers_env, and every header whose " +
			"value holds a secret (a value taken from the environment). A redirect from HTTPS to plain HTTP is refused " +
			"with an error, as is one more redirect than max_redirects.",
		Inputs: []registry.Input{
			{Name: "url", Type: registry.String, Doc: "The URL to request."},
			{Name: "method", Type: registry.String, Default: "GET", HasDefault: true, Doc: "The HTTP method."},
			{Name: "body", Default: nil, HasDefault: true, Doc: "The request body, sent as JSON; null sends none."},
			{Name: "headers", Type: registry.Object, Default: map[string]any{}, HasDefault: true,
				Doc: "Request headers, name to value; non-string values are sent as JSON."},
			{Name: "headers_env", Type: registry.Object, Const: true, Default: map[string]any{}, HasDefault: true,
				Doc: "Headers read from the environment: header name to the name of an environment variable."},
			{Name: "timeout", Const: true, Default: "30s", HasDefault: true,
				Doc: "The time limit of the request: a number of seconds or a duration such as \"30s\"; 0 means none."},
			{Name: "max_redirects", Type: registry.Integer, Const: true, Default: redirect.DefaultMax, HasDefault: true,
				Doc: "The most redirects followed, from 0 to 100; with 0 none is, and the redirect response itself (status 3xx) is the result."},
		},
		Outputs: []registry.Output{
			{Name: "out", Doc: "The response body: decoded JSON, or a string."},
			{Name: "status", Type: registry.Integer, Doc: "The HTTP status code."},
		},
		Example: "weather:\n  type: http.request\n  inputs: {url: weather_url}\n" +
			"  with:\n    method: GET\n    headers_env: {Authorization: WEATHER_TOKEN}\n    timeout: 10s\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			n, err := newHTTPNode(cfg, env)
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

func newHTTPNode(cfg registry.Config, env registry.Env) (*httpNode, error) {
	timeout, err := cfg.Params.Duration("timeout")
	if err != nil {
		return nil, err
	}
	maxRedirects, err := redirectsParam(cfg, "max_redirects")
	if err != nil {
		return nil, err
	}
	n := &httpNode{timeout: timeout, getenv: env.Getenv, headersEnv: map[string]string{}}
	if n.getenv == nil {
		n.getenv = func(string) string { return "" }
	}
	he, err := cfg.Params.Object("headers_env")
	if err != nil {
		return nil, err
	}
	for header, v := range he {
		name, ok := v.(string)
		if !ok || name == "" {
			return nil, paramError("headers_env", "header %q: want the name of an environment variable, got %s", header, registry.Describe(v))
		}
		n.headersEnv[header] = name
	}
	policy := &redirect.Policy{Max: maxRedirects, Secret: env.Secrets.Contains}
	for header := range n.headersEnv {
		policy.SecretHeaders = append(policy.SecretHeaders, header)
	}
	if env.Logger != nil {
		policy.OnDrop = func(from, to string, headers []string) {
			env.Logger.Debug("http.request: redirect to another origin, credentials not sent", "node", cfg.ID,
				"from", from, "to", to, "dropped", strings.Join(headers, ", "))
		}
	}
	n.client = policy.Client(env.HTTPClient)
	return n, nil
}

// redirectsParam reads a redirect limit from 0 to 100 and returns it as a
// redirect.Policy's Max: 0 (follow none) becomes -1.
func redirectsParam(cfg registry.Config, name string) (int, error) {
	v, ok := cfg.Params[name]
	if !ok || v == nil {
		return redirect.DefaultMax, nil
	}
	var n int
	switch v := v.(type) {
	case int:
		n = v
	case int64:
		n = int(v)
	case float64:
		n = int(v)
		if float64(n) != v {
			n = -1
		}
	default:
		n = -1
	}
	if n < 0 || n > 100 {
		return 0, paramError(name, "want a whole number from 0 to 100, got %s", registry.Describe(v))
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// httpNode sends requests.
type httpNode struct {
	timeout    time.Duration
	headersEnv map[string]string
	getenv     func(string) string
	client     *http.Client
}

var _ registry.Node = (*httpNode)(nil)

// errHTTPTimeout is the cause of a request that exceeded its timeout.
var errHTTPTimeout = errors.New("request timed out")

func (n *httpNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	defer endRun(ctx, &err)
	url, err := wantString("url", in.Value("url"))
	if err != nil {
		return err
	}
	method, err := wantString("method", in.Value("method"))
	if err != nil {
		return err
	}
	method = strings.ToUpper(method)
	var body io.Reader
	if b := in.Value("body"); b != nil {
		data, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("input %q: %w", "body", err)
		}
		body = bytes.NewReader(data)
	}
	if n.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, n.timeout, errHTTPTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("invalid request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key := registry.IdempotencyKey(in); key != "" {
		// The headers input may replace it.
		req.Header.Set(registry.IdempotencyHeader, key)
	}
	headers, ok := in.Value("headers").(map[string]any)
	if !ok && in.Value("headers") != nil {
		return fmt.Errorf("input %q: want an object, got %s", "headers", registry.Describe(in.Value("headers")))
	}
	for name, v := range headers {
		req.Header.Set(name, text(v))
	}
	for header, variable := range n.headersEnv {
		v := n.getenv(variable)
		if v == "" {
			return fmt.Errorf("header %q: environment variable %q is not set", header, variable)
		}
		req.Header.Set(header, v)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return n.requestError(ctx, method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, httpMaxBody+1))
	if err != nil {
		return n.requestError(ctx, method, url, err)
	}
	if len(data) > httpMaxBody {
		return fmt.Errorf("%s %s: response body larger than %d MiB", method, url, httpMaxBody>>20)
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, excerpt(data, 200))
	}
	var v any = string(data)
	if isJSONType(resp.Header.Get("Content-Type")) && len(bytes.TrimSpace(data)) > 0 {
		if v, err = decodeJSON(data); err != nil {
			return fmt.Errorf("%s %s: response: %w", method, url, err)
		}
	}
	out.Set("out", v)
	out.Set("status", resp.StatusCode)
	return nil
}

func (n *httpNode) requestError(ctx context.Context, method, url string, err error) error {
	if errors.Is(context.Cause(ctx), errHTTPTimeout) {
		return fmt.Errorf("%s %s: %w after %v", method, url, errHTTPTimeout, n.timeout)
	}
	if errors.Is(err, redirect.ErrRefused) {
		// The *url.Error of a refused redirect names the Location header
		// as written (often a bare path): name the request instead.
		cause := unwrapURLError(err)
		if errors.Is(err, redirect.ErrTooMany) {
			return fmt.Errorf("%s %s: %w (max_redirects raises the limit)", method, url, cause)
		}
		return fmt.Errorf("%s %s: %w", method, url, cause)
	}
	return err // a *url.Error names the method and the URL
}

// unwrapURLError returns the cause of a *url.Error, or err.
func unwrapURLError(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isJSONType reports whether a Content-Type is JSON (application/json or
// a +json type).
func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// excerpt returns the start of data as one line of text.
func excerpt(data []byte, max int) string {
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
