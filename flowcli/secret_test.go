package flowcli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The secrets of the masking tests. SECRET and AZ_KEY reach the flow
// through ${VAR}; TOKEN2 through headers_env; PASSED through pass_env;
// MY_API_KEY is never read by a flow but its name marks it secret, and
// EXTRA_VALUE is marked by FLOWRUN_SECRETS.
const (
	testSecret = "sk-envSECRET"
	testAZKey  = "az-KEY-12345"
	testToken2 = "tok2-abcdef"
	testPassed = "passed-9876"
	testAPIKey = "sk-namedKEY"
	testExtra  = "extra-secret"
)

var testSecrets = []string{testSecret, testAZKey, testToken2, testPassed, testAPIKey, testExtra}

// echoServer answers every request with 403 and a body that echoes the
// request's URL and headers, as some servers do in their errors.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "forbidden: url=%s auth=%q key=%q user=%v extra=%s named=%s",
			r.URL, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.URL.User, testExtra, testAPIKey)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsMasked runs every repro of the secret leaks at every log
// level, in text and JSON logs, and checks that no secret reaches stderr,
// the event log or validate's output, while "***" shows where one was.
func TestSecretsMasked(t *testing.T) {
	srv := echoServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	cases := []struct {
		name string
		flow string
		// loadErr: the flow is invalid, so nothing runs and validate
		// reports the problem too.
		loadErr bool
		// want is a masked text stderr shows at every level.
		want string
	}{
		{name: "url query", flow: `
nodes:
  req:
    type: http.request
    with: {url: "http://127.0.0.1:1/v1/data?api_key=${SECRET}"}
`, want: `api_key=***`},
		{name: "math.inc string", loadErr: true, flow: `
nodes:
  inc:
    type: math.inc
    with: {x: "${SECRET}"}
`, want: `got the string "***"`},
		{name: "file.read path", flow: `
nodes:
  rd:
    type: file.read
    with: {path: "/nonexistent/${SECRET}"}
`, want: `cannot read file "/nonexistent/***"`},
		{name: "header echoed in 403", flow: `
nodes:
  req:
    type: http.request
    with:
      url: "` + srv.URL + `/x"
      headers: {Authorization: "Bearer ${SECRET}"}
`, want: `auth="Bearer ***"`},
		{name: "headers_env echoed in 403", flow: `
nodes:
  req:
    type: http.request
    with:
      url: "` + srv.URL + `/x"
      headers_env: {X-Api-Key: TOKEN2}
`, want: `key="***"`},
		{name: "llm base_url userinfo and query", flow: `
nodes:
  msgs:
    type: value.const
    with: {value: [{role: user, content: hi}]}
  reply:
    type: llm.chat
    inputs: {messages: msgs}
    with:
      base_url: "http://u:${AZ_KEY}@` + host + `/v1?api-key=${AZ_KEY}"
      model: m
      retries: 0
`, want: `***`},
		{name: "exec pass_env on stderr", flow: `
nodes:
  run:
    type: exec
    with:
      command: [sh, -c, 'echo "token is $PASSED" >&2; exit 3']
      stdin: none
      pass_env: [PASSED]
`, want: `token is ***`},
	}
	environ := []string{
		"PATH=" + os.Getenv("PATH"),
		"SECRET=" + testSecret, "AZ_KEY=" + testAZKey, "TOKEN2=" + testToken2, "PASSED=" + testPassed,
		"MY_API_KEY=" + testAPIKey, "EXTRA_VALUE=" + testExtra, "FLOWRUN_SECRETS=EXTRA_VALUE",
	}
	for _, tc := range cases {
		dir := t.TempDir()
		flow := filepath.Join(dir, "flow.yaml")
		if err := os.WriteFile(flow, []byte(tc.flow), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, level := range []string{"debug", "info", "warn", "error"} {
			for _, format := range []string{"text", "json"} {
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, level, format), func(t *testing.T) {
					events := filepath.Join(t.TempDir(), "events.jsonl")
					var stdout, stderr bytes.Buffer
					code := mainEnv(t.Context(), []string{"flowrun", "run", "--events", events,
						"--log-level", level, "--log-format", format, flow}, nil, strings.NewReader(""), &stdout, &stderr, environ)
					if code == ExitOK {
						t.Fatalf("exit code 0, want a failure; stderr:\n%s", stderr.String())
					}
					assertMasked(t, "stderr", stderr.String())
					if !strings.Contains(stderr.String(), tc.want) {
						t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
					}
					ev, err := os.ReadFile(events)
					switch {
					case tc.loadErr:
					case err != nil:
						t.Fatal(err)
					default:
						assertMasked(t, "event log", string(ev))
						if !strings.Contains(string(ev), "***") {
							t.Errorf("event log shows no masked secret:\n%s", ev)
						}
					}
				})
			}
		}
		if tc.loadErr {
			for _, format := range []string{"text", "json", "github"} {
				t.Run(tc.name+"/validate/"+format, func(t *testing.T) {
					var stdout, stderr bytes.Buffer
					code := mainEnv(t.Context(), []string{"flowrun", "validate", "--format", format, flow}, nil,
						strings.NewReader(""), &stdout, &stderr, environ)
					if code != ExitUsage {
						t.Errorf("exit code %d, want %d", code, ExitUsage)
					}
					assertMasked(t, "validate stdout", stdout.String())
					assertMasked(t, "validate stderr", stderr.String())
					if !strings.Contains(stdout.String(), "***") {
						t.Errorf("validate output shows no masked secret:\n%s", stdout.String())
					}
				})
			}
		}
	}
}

func assertMasked(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range testSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
		// As a server echoes a Basic Authorization header.
		if b := base64.StdEncoding.EncodeToString([]byte("u:" + s)); strings.Contains(text, b) {
			t.Errorf("%s shows the secret %q in base64 %q:\n%s", what, s, b, text)
		}
	}
}

// TestSecretsDataUnaltered checks that what a flow deliberately writes to
// stdout or to a file keeps its secrets: masking is for diagnostics.
func TestSecretsDataUnaltered(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	flow := filepath.Join(dir, "flow.yaml")
	src := `
nodes:
  v:
    type: value.const
    with: {value: "key=${SECRET}"}
  print:
    type: term.print
    inputs: {s: v}
  save:
    type: file.write
    inputs: {content: v}
    with: {path: out.txt}
`
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := mainEnv(t.Context(), []string{"flowrun", "run", "--log-level", "debug", flow}, nil, strings.NewReader(""),
		&stdout, &stderr, []string{"SECRET=" + testSecret})
	if code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if got := stdout.String(); got != "key="+testSecret+"\n" {
		t.Errorf("stdout = %q, want the value unmasked", got)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "key="+testSecret {
		t.Errorf("file holds %q (%v), want the value unmasked", b, err)
	}
	assertMasked(t, "stderr", stderr.String())
}
