package builtin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestHTTPRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			json.NewEncoder(w).Encode(map[string]any{
				"method": r.Method, "body": string(body), "type": r.Header.Get("Content-Type"),
				"auth": r.Header.Get("Authorization"), "x": r.Header.Get("X-Count"),
			})
		case "/text":
			w.Write([]byte("plain text"))
		case "/missing":
			http.Error(w, `{"error": "no such thing"}`, http.StatusNotFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/badjson":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{oops"))
		}
	}))
	t.Cleanup(srv.Close)
	env := registry.Env{
		HTTPClient: srv.Client(),
		Getenv:     func(k string) string { return map[string]string{"TOKEN": "Bearer s3cret"}[k] },
	}

	tests := []struct {
		name    string
		params  map[string]any
		values  map[string]any
		want    any
		wantErr string
	}{
		{
			name:   "JSON in and out",
			params: map[string]any{"headers_env": map[string]any{"Authorization": "TOKEN"}},
			values: map[string]any{"url": srv.URL + "/echo", "method": "post", "body": map[string]any{"q": 1}, "headers": map[string]any{"X-Count": 2}},
			want:   map[string]any{"method": "POST", "body": `{"q":1}`, "type": "application/json", "auth": "Bearer s3cret", "x": "2"},
		},
		{name: "text", values: map[string]any{"url": srv.URL + "/text"}, want: "plain text"},
		{name: "status", values: map[string]any{"url": srv.URL + "/missing"}, wantErr: `GET ` + srv.URL + `/missing: 404 Not Found: {"error": "no such thing"}`},
		{name: "timeout", params: map[string]any{"timeout": "50ms"}, values: map[string]any{"url": srv.URL + "/slow"}, wantErr: "request timed out after 50ms"},
		{name: "bad JSON", values: map[string]any{"url": srv.URL + "/badjson"}, wantErr: "response: invalid JSON at byte 2"},
		{name: "unset variable", params: map[string]any{"headers_env": map[string]any{"Authorization": "NOPE"}},
			values: map[string]any{"url": srv.URL + "/echo"}, wantErr: `header "Authorization": environment variable "NOPE" is not set`},
		{name: "bad URL", values: map[string]any{"url": "::"}, wantErr: "invalid request"},
		{name: "no server", values: map[string]any{"url": "http://127.0.0.1:1/"}, wantErr: `Get "http://127.0.0.1:1/": dial tcp`},
		{name: "bad headers", values: map[string]any{"url": srv.URL, "headers": "x"}, wantErr: `input "headers": want an object`},
	}
	spec := lookup(t, "http.request")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: tt.params, Env: env})
			res := n.Run(t, nodetest.In{Values: tt.values})
			checkResult(t, res, tt.want, tt.wantErr)
			if tt.wantErr == "" && res.Final["status"] != 200 {
				t.Errorf("status = %v, want 200", res.Final["status"])
			}
		})
	}
}

func TestHTTPRequestParams(t *testing.T) {
	err := buildErr(t, "http.request", nodetest.Setup{Params: map[string]any{"headers_env": map[string]any{"A": 1}}})
	wantParamError(t, err, "headers_env", `header "A": want the name of an environment variable`)
	wantParamError(t, buildErr(t, "http.request", nodetest.Setup{Params: map[string]any{"timeout": "x"}}), "timeout", "invalid duration")
	if err := buildErr(t, "http.request", nodetest.Setup{}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
