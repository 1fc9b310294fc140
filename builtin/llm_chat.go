package builtin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowrun/flowrun/internal/llm"
	"github.com/flowrun/flowrun/internal/redirect"
	"github.com/flowrun/flowrun/registry"
)

// Defaults of llm.chat when neither the flow nor the environment says
// otherwise: llama.cpp's llama-server on its default port.
const (
	llmDefaultBaseURL = "http://127.0.0.1:8080/v1"
	llmDefaultModel   = "local"
	llmDefaultKeyEnv  = "OPENAI_API_KEY"
	llmGroqKeyEnv     = "GROQ_API_KEY"
)

func llmChatSpec() registry.Spec {
	return registry.Spec{
		Type:    "llm.chat",
		Effects: []registry.Effect{registry.Net},
		// Ctrl-C cuts the answer; the run sets it marked " [interrupted]".
		Interruptible: true,
		Doc: "Streams a chat completion from an OpenAI-compatible server.\n\n" +
			"Sends the messages to base_url + /chat/completions with stream: true and emits each piece of the answer " +
			"on out as it arrives; the final value of out is the whole answer. Works with llama.cpp's llama-server, " +
			"Ollama, vLLM, Groq and OpenAI. The server is $OPENAI_BASE_URL unless base_url is set, else " +
			llmDefaultBaseURL + "; the model is $OPENAI_MODEL unless model is set, else \"" + llmDefaultModel + "\"; " +
			"the API key is read from the variable named by api_key_env ($" + llmDefaultKeyEnv + ", or $" + llmGroqKeyEnv +
			" for api.groq.com) and never appears in errors or logs.\n\n" +
			"Failures before the first piece of text (connection errors, timeouts, HTTP 408/409/429/5xx) are retried " +
			"twice with backoff, honouring Retry-After. A stream that ends before the server said the answer was " +
			"complete, an error from the server, or exhausted retries fail the run with one line naming the server " +
			"and the cause. Every request carries the header Idempotency-Key: <flow run>/<node>/<generation>, the same " +
			"on its retries and, on a cluster, when the run is delivered again to another worker. When the run is cancelled (Ctrl-C, or a consumer stops reading) it returns at once, " +
			"closing the request; the pieces emitted so far remain the accumulation of out.\n\n" +
			"Redirects are followed up to max_redirects times; on a redirect to another origin (another scheme, host " +
			"or port) the API key and every header holding a secret stay behind, and a redirect from HTTPS to plain " +
			"HTTP is refused. A refused redirect is not retried.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "messages", Type: registry.Array, Doc: "The conversation: a list of {role, content} objects, role being system, user or assistant."},
			{Name: "base_url", Type: registry.String, Const: true, HasDefault: true, Default: "",
				Doc: "The API root, such as http://127.0.0.1:11434/v1; empty means $OPENAI_BASE_URL, else " + llmDefaultBaseURL + "."},
			{Name: "model", Type: registry.String, Const: true, HasDefault: true, Default: "",
				Doc: "The model name; empty means $OPENAI_MODEL, else \"" + llmDefaultModel + "\" (llama-server ignores it)."},
			{Name: "api_key_env", Type: registry.String, Const: true, HasDefault: true, Default: llmDefaultKeyEnv,
				Doc: "The environment variable that holds the API key; for api.groq.com, $" + llmGroqKeyEnv + " is used when $" + llmDefaultKeyEnv + " is empty."},
			{Name: "temperature", Type: registry.Number, Const: true, HasDefault: true, Default: nil,
				Doc: "Sampling temperature from 0 to 2; null leaves it to the server."},
			{Name: "max_tokens", Type: registry.Integer, Const: true, HasDefault: true, Default: nil,
				Doc: "The longest answer in tokens; null or 0 leaves it to the server."},
			{Name: "max_tokens_field", Type: registry.String, Const: true, HasDefault: true, Default: "max_tokens",
				Enum: []any{"max_tokens", "max_completion_tokens"},
				Doc:  "The request field that carries max_tokens: OpenAI's reasoning models want max_completion_tokens, Ollama knows only max_tokens."},
			{Name: "include_usage", Type: registry.Boolean, Const: true, HasDefault: true, Default: true,
				Doc: "Ask the server for token usage (stream_options.include_usage)."},
			{Name: "retries", Type: registry.Integer, Const: true, HasDefault: true, Default: 2,
				Doc: "How many times a request that failed before any text arrived is sent again."},
			{Name: "header_timeout", Type: registry.Number, Const: true, HasDefault: true, Default: 120,
				Doc: "Seconds to wait for the response headers (llama.cpp reads the whole prompt first)."},
			{Name: "max_redirects", Type: registry.Integer, Const: true, HasDefault: true, Default: redirect.DefaultMax,
				Doc: "The most redirects followed, from 0 to 100; with 0 a redirect is an error naming its status."},
			{Name: "idle_timeout", Type: registry.Number, Const: true, HasDefault: true, Default: 60,
				Doc: "Seconds the server may stay silent in the middle of a response."},
		},
		Outputs: []registry.Output{
			{Name: "out", Type: registry.String, Doc: "The answer, streamed piece by piece; its final value is the whole answer."},
			{Name: "usage", Type: registry.Object, Doc: "Token usage {prompt_tokens, completion_tokens, total_tokens}, or null when the server sent none."},
			{Name: "finish_reason", Type: registry.String, Doc: "Why the answer ended: stop, or length when max_tokens cut it (term.chat marks such an answer, chat.history does not record it)."},
			{Name: "reasoning", Type: registry.String, Doc: "The reasoning of models that send it apart from the answer (reasoning_content or reasoning), streamed piece by piece as it arrives; its final value is the whole reasoning, or null."},
		},
		Example: "reply:\n  type: llm.chat\n  inputs: {messages: history.messages}\n  with: {model: llama3.2, temperature: 0.7}\n",
		New:     newLLMChat,
	}
}

// llmParams are llm.chat's parameters as written in the flow.
type llmParams struct {
	baseURL, model, keyEnv string
	temperature            *float64
	maxTokens              int
	completionTokens       bool
	includeUsage           bool
	retries                int
	maxRedirects           int // as redirect.Policy.Max
	headerTimeout          time.Duration
	idleTimeout            time.Duration
}

func parseLLMParams(cfg registry.Config) (llmParams, error) {
	p := llmParams{keyEnv: llmDefaultKeyEnv, includeUsage: true, retries: 2,
		headerTimeout: llm.DefaultHeaderTimeout, idleTimeout: llm.DefaultIdleTimeout}
	var err error
	if p.baseURL, err = chatStringParam(cfg, "base_url", ""); err != nil {
		return p, err
	}
	if p.baseURL != "" {
		if err := checkBaseURL(p.baseURL); err != nil {
			return p, &registry.ParamError{Param: "base_url", Err: err}
		}
	}
	if p.model, err = chatStringParam(cfg, "model", ""); err != nil {
		return p, err
	}
	if p.keyEnv, err = chatStringParam(cfg, "api_key_env", llmDefaultKeyEnv); err != nil {
		return p, err
	}
	// A null parameter keeps the default set above.
	set := func(name string) bool { return cfg.Params[name] != nil }
	outOfRange := func(name string, v any, want string) error {
		return &registry.ParamError{Param: name, Err: fmt.Errorf("want %s, got %v", want, v)}
	}
	if set("temperature") {
		t, err := cfg.Params.Float("temperature")
		if err != nil {
			return p, err
		}
		if t < 0 || t > 2 {
			return p, outOfRange("temperature", t, "a number from 0 to 2")
		}
		p.temperature = &t
	}
	if p.maxTokens, err = cfg.Params.Int("max_tokens"); err != nil {
		return p, err
	}
	if p.maxTokens < 0 || p.maxTokens > math.MaxInt32 {
		return p, outOfRange("max_tokens", p.maxTokens, "a whole number of tokens, 0 or more")
	}
	if set("max_tokens_field") {
		field, err := cfg.Params.OneOf("max_tokens_field", "max_tokens", "max_completion_tokens")
		if err != nil {
			return p, err
		}
		p.completionTokens = field == "max_completion_tokens"
	}
	if set("include_usage") {
		if p.includeUsage, err = cfg.Params.Bool("include_usage"); err != nil {
			return p, err
		}
	}
	if set("retries") {
		if p.retries, err = cfg.Params.Int("retries"); err != nil {
			return p, err
		}
		if p.retries < 0 || p.retries > 10 {
			return p, outOfRange("retries", p.retries, "a whole number from 0 to 10")
		}
	}
	if p.maxRedirects, err = redirectsParam(cfg, "max_redirects"); err != nil {
		return p, err
	}
	for _, t := range []struct {
		name string
		dst  *time.Duration
	}{{"header_timeout", &p.headerTimeout}, {"idle_timeout", &p.idleTimeout}} {
		if !set(t.name) {
			continue
		}
		s, err := cfg.Params.Float(t.name)
		if err != nil {
			return p, err
		}
		if s <= 0 || s > 86400 {
			return p, outOfRange(t.name, s, "a number of seconds above 0")
		}
		*t.dst = time.Duration(s * float64(time.Second))
	}
	return p, nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http or https URL such as %s, got %q", llmDefaultBaseURL, redactBase(s))
	}
	return nil
}

// redactBase returns a base URL fit for messages: no user information, no
// query string.
func redactBase(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// chatStringParam reads a string parameter whose null means def.
func chatStringParam(cfg registry.Config, name, def string) (string, error) {
	if cfg.Params[name] == nil {
		return def, nil
	}
	return cfg.Params.String(name)
}

// getenv returns env.Getenv, or a function that finds nothing.
func getenv(env registry.Env) func(string) string {
	if env.Getenv != nil {
		return env.Getenv
	}
	return func(string) string { return "" }
}

// llmSettings resolves the server, model and key of an llm.chat node from
// its parameters and the environment.
func llmSettings(p llmParams, get func(string) string) (baseURL, model, keyEnv, key string, err error) {
	baseURL = p.baseURL
	if baseURL == "" {
		baseURL = get("OPENAI_BASE_URL")
		if baseURL != "" {
			if err := checkBaseURL(baseURL); err != nil {
				return "", "", "", "", fmt.Errorf("$OPENAI_BASE_URL: %w", err)
			}
		}
	}
	if baseURL == "" {
		baseURL = llmDefaultBaseURL
	}
	model = p.model
	if model == "" {
		model = get("OPENAI_MODEL")
	}
	if model == "" {
		model = llmDefaultModel
	}
	keyEnv = p.keyEnv
	key = get(keyEnv)
	if key == "" && keyEnv == llmDefaultKeyEnv && isGroq(baseURL) {
		keyEnv = llmGroqKeyEnv
		key = get(keyEnv)
	}
	return baseURL, model, keyEnv, key, nil
}

func isGroq(base string) bool {
	u, err := url.Parse(base)
	return err == nil && (u.Hostname() == "api.groq.com" || strings.HasSuffix(u.Hostname(), ".groq.com"))
}

func newLLMChat(cfg registry.Config, env registry.Env) (registry.Node, error) {
	p, err := parseLLMParams(cfg)
	if err != nil {
		return nil, err
	}
	baseURL, model, keyEnv, key, err := llmSettings(p, getenv(env))
	if err != nil {
		return nil, &registry.ParamError{Param: "base_url", Err: err}
	}
	n := &llmChatNode{
		model:        model,
		keyEnv:       keyEnv,
		hasKey:       key != "",
		baseURL:      redactBase(baseURL),
		temperature:  p.temperature,
		maxTokens:    p.maxTokens,
		completion:   p.completionTokens,
		includeUsage: p.includeUsage,
		logger:       env.Logger,
	}
	retries := p.retries
	if retries == 0 {
		retries = -1 // llm.RetryPolicy: negative disables, zero means the default
	}
	n.client = &llm.Client{
		BaseURL:       baseURL,
		APIKey:        key,
		HTTPClient:    env.HTTPClient,
		HeaderTimeout: p.headerTimeout,
		IdleTimeout:   p.idleTimeout,
		Redirects: redirect.Policy{
			Max:    p.maxRedirects,
			Secret: env.Secrets.Contains,
			OnDrop: func(from, to string, headers []string) {
				if n.logger != nil {
					n.logger.Debug("llm.chat: redirect to another origin, credentials not sent", "node", cfg.ID,
						"from", from, "to", to, "dropped", strings.Join(headers, ", "))
				}
			},
		},
		Retry: llm.RetryPolicy{
			MaxRetries: retries,
			OnRetry: func(attempt int, delay time.Duration, err error) {
				if n.logger != nil {
					n.logger.Debug("llm.chat: retrying", "node", cfg.ID, "attempt", attempt+1, "after", delay, "cause", err.Error())
				}
			},
		},
	}
	return n, nil
}

// llmChatNode is one llm.chat node. Its client is built once, so that its
// connections are reused from one answer to the next.
type llmChatNode struct {
	client       *llm.Client
	model        string
	keyEnv       string
	hasKey       bool
	baseURL      string // redacted
	temperature  *float64
	maxTokens    int
	completion   bool
	includeUsage bool
	logger       *slog.Logger
}

var _ registry.Node = (*llmChatNode)(nil)

// Run sends the messages and streams the answer on out. It blocks until
// the answer is complete, the request failed, or ctx is done; cancelling
// ctx closes the request and Run returns an error wrapping the
// cancellation, leaving the pieces already emitted as out's accumulation.
func (n *llmChatNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	msgs, err := chatMessages(in.Value("messages"))
	if err != nil {
		return err
	}
	req := llm.Request{
		Model:                  n.model,
		Messages:               msgs,
		Temperature:            n.temperature,
		MaxTokens:              n.maxTokens,
		UseMaxCompletionTokens: n.completion,
		IncludeUsage:           n.includeUsage,
		IdempotencyKey:         registry.IdempotencyKey(in),
	}
	res, err := n.client.Stream(ctx, req, func(d llm.Delta) error {
		if d.Reasoning != "" {
			if err := out.Emit(ctx, "reasoning", d.Reasoning); err != nil {
				return err
			}
		}
		if d.Content == "" {
			return nil
		}
		return out.Emit(ctx, "out", d.Content)
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), registry.ErrInterrupted) {
			// Ctrl-C: the partial answer is kept, marked as cut short.
			out.Set("out", res.Content+" [interrupted]")
			return err
		}
		if ctx.Err() != nil || errors.Is(err, registry.ErrCancelled) {
			return err
		}
		return n.explain(err)
	}
	out.Set("out", res.Content)
	var usage any
	if u := res.Usage; u != nil {
		usage = map[string]any{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.TotalTokens}
		// Also as one chunk, for stream readers (term.chat shows it).
		if err := out.Emit(ctx, "usage", usage); err != nil {
			return err
		}
	}
	out.Set("usage", usage)
	var finish, reasoning any
	if res.FinishReason != "" {
		finish = res.FinishReason
	}
	if res.Reasoning != "" {
		reasoning = res.Reasoning
	}
	out.Set("finish_reason", finish)
	out.Set("reasoning", reasoning)
	if res.FinishReason == "length" && n.logger != nil {
		n.logger.Debug("llm.chat: the answer reached the token limit and was cut (finish_reason length); raise max_tokens", "max_tokens", n.maxTokens)
	}
	return nil
}

// A noServerError says that nothing listens at the configured server, and
// how to start the local one.
type noServerError struct {
	baseURL string
	err     error
}

// Error says, in one line, where no server answers and how to start one.
func (e *noServerError) Error() string {
	return fmt.Sprintf("no server answers at %s: start the local model with `make chat` "+
		"(or run tests/llmserver, see its README), or point OPENAI_BASE_URL at a running server", e.baseURL)
}

// Unwrap returns the connection error.
func (e *noServerError) Unwrap() error { return e.err }

// explain adds what the user needs to act on a failure: how to start a
// server, which variable holds the key, which model was asked for.
func (n *llmChatNode) explain(err error) error {
	if llm.IsConnRefused(err) {
		return &noServerError{baseURL: n.baseURL, err: err}
	}
	var ae *llm.APIError
	if errors.As(err, &ae) && !ae.InStream {
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			if n.hasKey {
				return fmt.Errorf("%w; the API key comes from $%s", err, n.keyEnv)
			}
			return fmt.Errorf("%w; no API key: $%s is not set", err, n.keyEnv)
		case http.StatusNotFound:
			return fmt.Errorf("%w; check the base URL and the model %q", err, n.model)
		}
	}
	return err
}

// chatMessages converts the messages input to the client's messages.
func chatMessages(v any) ([]llm.Message, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("input \"messages\": want a list of {role, content} objects, got %s", chatDescribe(v))
	}
	if len(list) == 0 {
		return nil, errors.New("input \"messages\": the list is empty")
	}
	msgs := make([]llm.Message, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("input \"messages\": element %d: want a {role, content} object, got %s", i, chatDescribe(e))
		}
		role, ok := m["role"].(string)
		if !ok || role == "" {
			return nil, fmt.Errorf("input \"messages\": element %d: want a string \"role\", got %s", i, chatDescribe(m["role"]))
		}
		var content string
		switch c := m["content"].(type) {
		case string:
			content = c
		case nil:
		default:
			return nil, fmt.Errorf("input \"messages\": element %d: want a string \"content\", got %s", i, chatDescribe(c))
		}
		msgs[i] = llm.Message{Role: role, Content: content}
	}
	return msgs, nil
}

// chatDescribe names the JSON type of v for error messages.
func chatDescribe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
