package builtin

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

const chatTestKey = "sk-node-SECRET-42"

// chatLookup returns the declaration of one of the chat types, from a
// registry holding only them.
func chatLookup(t testing.TB, typ string) *registry.Spec {
	t.Helper()
	reg := registry.New()
	if err := registerChat(reg); err != nil {
		t.Fatal(err)
	}
	spec, ok := reg.Lookup(typ)
	if !ok {
		t.Fatalf("type %q is not registered", typ)
	}
	return spec
}

func TestChatTypesDocumented(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	if err := registerChat(reg); err != nil {
		t.Fatal(err)
	}
	nodetest.CheckDocs(t, reg)
	if got, want := reg.Types(), []string{"chat.history", "llm.chat", "term.chat"}; !reflect.DeepEqual(got, want) {
		t.Errorf("types = %v, want %v", got, want)
	}
}

// chatEnv returns an environment with the given variables.
func chatEnv(vars map[string]string) registry.Env {
	return registry.Env{Getenv: func(k string) string { return vars[k] }}
}

var chatTestMessages = []any{
	map[string]any{"role": "system", "content": "be brief"},
	map[string]any{"role": "user", "content": "hi"},
}

func TestLLMChatStreams(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Stream("Hel", "lo", "!"))
	spec := chatLookup(t, "llm.chat")
	n := nodetest.New(t, spec, nodetest.Setup{
		Params: map[string]any{"temperature": 0.5, "max_tokens": 40},
		Env:    chatEnv(map[string]string{"OPENAI_BASE_URL": s.URL(), "OPENAI_MODEL": "tiny", "OPENAI_API_KEY": chatTestKey}),
	})
	res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Chunks["out"]; !reflect.DeepEqual(got, []any{"Hel", "lo", "!"}) {
		t.Errorf("chunks = %v", got)
	}
	want := map[string]any{
		"out":           "Hello!",
		"usage":         map[string]any{"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
		"finish_reason": "stop",
		"reasoning":     nil,
	}
	if !reflect.DeepEqual(res.Final, want) {
		t.Errorf("final = %#v\nwant %#v", res.Final, want)
	}
	r := s.Requests()[0]
	if r.Header.Get("Authorization") != "Bearer "+chatTestKey {
		t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	wantBody := `{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":true,"temperature":0.5,"max_tokens":40,"stream_options":{"include_usage":true}}`
	if string(r.Raw) != wantBody {
		t.Errorf("body\n got %s\nwant %s", r.Raw, wantBody)
	}

	// A second run of the same node reuses its client.
	s.Push(llmtest.Ollama("again"))
	res = n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	if res.Err != nil || res.Out() != "again" || res.Final["usage"] != nil {
		t.Errorf("second run: out %v usage %v err %v", res.Out(), res.Final["usage"], res.Err)
	}
}

func TestLLMChatParamsOverrideEnv(t *testing.T) {
	t.Parallel()
	s := llmtest.New(t, llmtest.Reasoning("reasoning", []string{"hmm"}, "4"))
	n := nodetest.New(t, chatLookup(t, "llm.chat"), nodetest.Setup{
		Params: map[string]any{"base_url": s.URL(), "model": "m2", "api_key_env": "MY_KEY", "include_usage": false,
			"max_tokens": 9, "max_tokens_field": "max_completion_tokens"},
		Env: chatEnv(map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_MODEL": "other", "MY_KEY": "k2", "OPENAI_API_KEY": "wrong"}),
	})
	res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Out() != "4" || res.Final["reasoning"] != "hmm" {
		t.Errorf("out %v reasoning %v", res.Out(), res.Final["reasoning"])
	}
	if got := res.Chunks["out"]; !reflect.DeepEqual(got, []any{"4"}) {
		t.Errorf("chunks = %v: reasoning must not be emitted on out", got)
	}
	r := s.Requests()[0]
	if r.Header.Get("Authorization") != "Bearer k2" {
		t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	if want := `{"model":"m2","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":true,"max_completion_tokens":9}`; string(r.Raw) != want {
		t.Errorf("body\n got %s\nwant %s", r.Raw, want)
	}
}

func TestLLMSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                          string
		p                             llmParams
		vars                          map[string]string
		base, model, keyEnv, key, err string
	}{
		{"defaults", llmParams{keyEnv: "OPENAI_API_KEY"}, nil, llmDefaultBaseURL, "local", "OPENAI_API_KEY", "", ""},
		{"env", llmParams{keyEnv: "OPENAI_API_KEY"}, map[string]string{"OPENAI_BASE_URL": "http://h:1/v1", "OPENAI_MODEL": "x", "OPENAI_API_KEY": "k"},
			"http://h:1/v1", "x", "OPENAI_API_KEY", "k", ""},
		{"groq key", llmParams{baseURL: "https://api.groq.com/openai/v1", keyEnv: "OPENAI_API_KEY"}, map[string]string{"GROQ_API_KEY": "g"},
			"https://api.groq.com/openai/v1", "local", "GROQ_API_KEY", "g", ""},
		{"openai key wins on groq", llmParams{keyEnv: "OPENAI_API_KEY"}, map[string]string{"OPENAI_BASE_URL": "https://api.groq.com/openai/v1", "OPENAI_API_KEY": "o", "GROQ_API_KEY": "g"},
			"https://api.groq.com/openai/v1", "local", "OPENAI_API_KEY", "o", ""},
		{"no groq key elsewhere", llmParams{keyEnv: "OPENAI_API_KEY"}, map[string]string{"GROQ_API_KEY": "g"},
			llmDefaultBaseURL, "local", "OPENAI_API_KEY", "", ""},
		{"bad env url", llmParams{keyEnv: "OPENAI_API_KEY"}, map[string]string{"OPENAI_BASE_URL": "localhost:8080"}, "", "", "", "", "$OPENAI_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, model, keyEnv, key, err := llmSettings(tt.p, func(k string) string { return tt.vars[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || base != tt.base || model != tt.model || keyEnv != tt.keyEnv || key != tt.key {
				t.Errorf("got %q %q %q %q %v, want %q %q %q %q", base, model, keyEnv, key, err, tt.base, tt.model, tt.keyEnv, tt.key)
			}
		})
	}
}

func TestLLMChatParamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		param string
		value any
	}{
		{"temperature", 3},
		{"temperature", "hot"},
		{"max_tokens", -1},
		{"max_tokens", 1.5},
		{"max_tokens_field", "tokens"},
		{"base_url", "127.0.0.1:8080"},
		{"include_usage", "yes"},
		{"retries", 11},
		{"idle_timeout", 0},
	}
	spec := chatLookup(t, "llm.chat")
	for _, tt := range tests {
		_, err := nodetest.Build(spec, nodetest.Setup{Params: map[string]any{tt.param: tt.value}})
		var pe *registry.ParamError
		if !errors.As(err, &pe) || pe.Param != tt.param {
			t.Errorf("%s = %v: err = %v, want a ParamError for %s", tt.param, tt.value, err, tt.param)
		}
	}
}

// runLLM runs an llm.chat node against the responses and returns its result.
func runLLM(t *testing.T, base string, vars map[string]string, in nodetest.In) *nodetest.Result {
	t.Helper()
	if vars == nil {
		vars = map[string]string{}
	}
	vars["OPENAI_API_KEY"] = chatTestKey
	n := nodetest.New(t, chatLookup(t, "llm.chat"), nodetest.Setup{
		Params: map[string]any{"base_url": base, "idle_timeout": 0.5, "retries": 0},
		Env:    chatEnv(vars),
	})
	if in.Values == nil {
		in.Values = map[string]any{"messages": chatTestMessages}
	}
	return n.Run(t, in)
}

func TestLLMChatErrors(t *testing.T) {
	t.Parallel()
	truncated := llmtest.Stream("par", "tial")
	truncated.Steps = truncated.Steps[:3]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/v1"
	ln.Close()

	tests := []struct {
		name     string
		resp     *llmtest.Response
		base     string
		messages any
		want     []string
	}{
		{name: "truncated", resp: &truncated, want: []string{"/v1/chat/completions", "stream ended before the answer was complete"}},
		{name: "server error", resp: &llmtest.Response{Steps: []llmtest.Step{llmtest.Data(`{"error":{"message":"kv cache full"}}`)}},
			want: []string{"/v1/chat/completions", "kv cache full"}},
		{name: "unauthorized", resp: ptr(llmtest.Error(401, `{"error":{"message":"Invalid API Key `+chatTestKey+`","code":"invalid_api_key"}}`)),
			want: []string{"HTTP 401", "Invalid API Key [redacted]", "the API key comes from $OPENAI_API_KEY"}},
		{name: "not found", resp: ptr(llmtest.Error(404, `{"error":{"message":"model not found"}}`)),
			want: []string{"HTTP 404", `model "local"`}},
		{name: "connection refused", base: refused,
			want: []string{"no server answers at " + refused + ":", "make chat", "tests/llmserver", "OPENAI_BASE_URL"}},
		{name: "bad messages", resp: &llmtest.Response{}, messages: "hi", want: []string{`input "messages"`, "got a string"}},
		{name: "empty messages", resp: &llmtest.Response{}, messages: []any{}, want: []string{`input "messages"`, "empty"}},
		{name: "message without role", resp: &llmtest.Response{}, messages: []any{map[string]any{"content": "x"}}, want: []string{"element 0", `"role"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := tt.base
			if tt.resp != nil {
				s := llmtest.New(t, *tt.resp)
				base = s.URL()
			}
			in := nodetest.In{}
			if tt.messages != nil {
				in.Values = map[string]any{"messages": tt.messages}
			}
			res := runLLM(t, base, nil, in)
			if res.Err == nil {
				t.Fatal("no error")
			}
			msg := res.Err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, chatTestKey) || strings.Contains(msg, "\n") {
				t.Errorf("error leaks the key or spans lines: %q", msg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLLMChatFinishLength(t *testing.T) {
	t.Parallel()
	resp := llmtest.Response{Steps: []llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "Once upon"}, nil)),
		llmtest.Data(llmtest.Chunk(map[string]any{}, "length")),
		llmtest.Done(),
	}}
	s := llmtest.New(t, resp)
	res := runLLM(t, s.URL(), nil, nodetest.In{})
	if res.Err != nil || res.Out() != "Once upon" || res.Final["finish_reason"] != "length" {
		t.Errorf("out %v finish %v err %v", res.Out(), res.Final["finish_reason"], res.Err)
	}
}

func TestLLMChatCancelledByConsumer(t *testing.T) {
	t.Parallel()
	resp := llmtest.Stream("one", "two")
	resp.Steps = append(resp.Steps[:2:2], llmtest.Sleep(2*time.Second))
	s := llmtest.New(t, resp)
	start := time.Now()
	res := runLLM(t, s.URL(), nil, nodetest.In{CancelAfter: 1})
	if !errors.Is(res.Err, context.Canceled) && !errors.Is(res.Err, registry.ErrCancelled) {
		t.Fatalf("err = %v, want a cancellation", res.Err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("returned after %v, want promptly", el)
	}
	if res.Out() != "one" {
		t.Errorf("partial answer = %v, want \"one\"", res.Out())
	}
}

func TestLLMChatContextCancelled(t *testing.T) {
	t.Parallel()
	resp := llmtest.Stream("one")
	resp.Delay = 2 * time.Second // the prompt is still being processed
	s := llmtest.New(t, resp)
	n := nodetest.New(t, chatLookup(t, "llm.chat"), nodetest.Setup{Params: map[string]any{"base_url": s.URL()}})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := n.RunContext(ctx, t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", res.Err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("returned after %v", el)
	}
	if s.Count() != 1 {
		t.Errorf("%d requests, want 1 (no retry after cancellation)", s.Count())
	}
}

// registerChat adds only the chatbot's three types to reg.
func registerChat(reg *registry.Registry) error {
	for _, s := range []registry.Spec{llmChatSpec(), chatHistorySpec(), termChatSpec()} {
		if err := reg.Register(s); err != nil {
			return err
		}
	}
	return nil
}

// TestLLMChatStreamsReasoning checks that reasoning deltas, under either
// field name, are emitted on reasoning as they arrive, never on out, and
// that reasoning's final value is the whole reasoning.
func TestLLMChatStreamsReasoning(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"reasoning_content", "reasoning"} {
		s := llmtest.New(t, llmtest.Reasoning(field, []string{"Let", " me", " think."}, "4", "2"))
		n := nodetest.New(t, chatLookup(t, "llm.chat"), nodetest.Setup{Params: map[string]any{"base_url": s.URL()}})
		res := n.Run(t, nodetest.In{Values: map[string]any{"messages": chatTestMessages}})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if got := res.Chunks["reasoning"]; !reflect.DeepEqual(got, []any{"Let", " me", " think."}) {
			t.Errorf("%s: reasoning chunks %v, want the three deltas", field, got)
		}
		if got := res.Chunks["out"]; !reflect.DeepEqual(got, []any{"4", "2"}) {
			t.Errorf("%s: out chunks %v, want [4 2]", field, got)
		}
		if res.Final["reasoning"] != "Let me think." || res.Out() != "42" {
			t.Errorf("%s: final reasoning %q, out %q", field, res.Final["reasoning"], res.Out())
		}
	}
}
