// Package llm is a small client for OpenAI-compatible chat-completions
// servers (llama.cpp's llama-server, Ollama, vLLM, Groq, OpenAI, the local
// test server in tests/llmserver) that streams answers over server-sent
// events.
//
// It is hand-written on net/http, bufio and encoding/json rather than built
// on an SDK because both Go SDKs, measured against a fault-injecting server
// with Go 1.26.8 (github.com/openai/openai-go/v3 v3.98.0 and
// github.com/sashabaranov/go-openai v1.43.0), report a stream that stops
// without [DONE] or a finish_reason as success and ignore llama.cpp's
// legacy "error:" SSE field; go-openai also breaks on multi-line data:
// fields and never retries a 429. [Client.Stream] tells a complete
// answer from a truncated one, decodes chunks leniently, understands every
// error body shape those servers send, retries only before any text reached
// the caller, and uses separate connect, response-header and idle timeouts
// instead of one deadline for the whole stream.
//
// The API key is sent in the Authorization header and nowhere else: errors
// name the server by its URL without user information or query string, and
// text the server sends back is scrubbed of the key before it appears in an
// error.
package llm
