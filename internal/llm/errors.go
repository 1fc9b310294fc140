package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Sentinel causes wrapped by [*StreamError]; test for them with errors.Is.
var (
	// ErrTruncated means the stream ended, cleanly or not, before the server
	// said the answer was complete (no finish_reason and no [DONE]).
	ErrTruncated = errors.New("stream ended before the answer was complete")
	// ErrIdleTimeout means the server sent nothing for longer than
	// [Client].IdleTimeout while a stream was being read.
	ErrIdleTimeout = errors.New("server sent nothing for too long")
	// ErrHeaderTimeout means the response headers did not arrive within
	// [Client].HeaderTimeout.
	ErrHeaderTimeout = errors.New("no response headers in time")
	// ErrBadChunk means a data event held something other than a JSON
	// chunk.
	ErrBadChunk = errors.New("malformed chunk")
	// ErrContentType means a 200 response was neither an event stream nor
	// JSON.
	ErrContentType = errors.New("unexpected content type")
	// ErrBadURL means BaseURL is not a usable URL.
	ErrBadURL = errors.New("bad base URL")
	// ErrLineTooLong means the server sent a line of the event stream
	// longer than [MaxLineBytes]: the same request would get the same
	// answer, so it is not retried.
	ErrLineTooLong = fmt.Errorf("server sent an SSE line longer than %d bytes (%d MiB)", MaxLineBytes, MaxLineBytes>>20)
)

// An APIError is an error the server reported: an HTTP status other than
// 200 with its decoded body, or an error event inside a stream (then
// InStream is true and Status is 200).
type APIError struct {
	// Server is the URL of the endpoint, without user information or query.
	Server string
	// Status is the HTTP status code.
	Status int
	// Message, Type and Param come from the error body; Message falls back
	// to the raw body, whitespace-collapsed and cut to about 200 bytes.
	Message string
	Type    string
	Param   string
	// Code is the body's "code" as raw JSON: servers send a string
	// (OpenAI, Groq), an integer (llama.cpp, vLLM) or null.
	Code json.RawMessage
	// InStream reports an error event received after the 200 headers.
	InStream bool
	// RetryAfter is the delay the server asked for, when it asked; it is
	// set when the delay exceeded the client's cap and the client gave up.
	RetryAfter string
	// Attempts is the number of requests made, retries included.
	Attempts int
}

// Error returns one line: the server, the status (or "error in stream"),
// the message and the type, code and attempts when known.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server %s: ", e.Server)
	if e.InStream {
		b.WriteString("error in stream")
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if t := http.StatusText(e.Status); t != "" {
			fmt.Fprintf(&b, " %s", strings.ToLower(t))
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	var details []string
	if e.Type != "" {
		details = append(details, "type "+e.Type)
	}
	if c := codeString(e.Code); c != "" {
		details = append(details, "code "+c)
	}
	if e.RetryAfter != "" {
		details = append(details, "retry after "+e.RetryAfter)
	}
	if e.Attempts > 1 {
		details = append(details, fmt.Sprintf("gave up after %d attempts", e.Attempts))
	}
	if len(details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	}
	return b.String()
}

// CodeString returns Code as text: a JSON string unquoted, a number as
// written, "" for null or absent.
func (e *APIError) CodeString() string { return codeString(e.Code) }

func codeString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// A StreamError is a failure that is not a server-reported error: the
// connection could not be made or broke, a timeout expired, the stream was
// truncated or held garbage. Err wraps the cause: [ErrTruncated],
// [ErrIdleTimeout], [ErrHeaderTimeout], [ErrBadChunk], [ErrContentType],
// [ErrLineTooLong] or a network error (errors.Is(err, syscall.ECONNREFUSED) works through it).
type StreamError struct {
	// Server is the URL of the endpoint, without user information or query.
	Server string
	Err    error
	// Attempts is the number of requests made, retries included.
	Attempts int
}

// Error returns one line naming the server and the cause.
func (e *StreamError) Error() string {
	s := fmt.Sprintf("server %s: %v", e.Server, e.Err)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (gave up after %d attempts)", e.Attempts)
	}
	return s
}

// Unwrap returns the cause.
func (e *StreamError) Unwrap() error { return e.Err }

// IsConnRefused reports whether err says that nothing listens at the
// server's address.
func IsConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// errorBody is the union of the error body shapes the servers send:
// {"error": {"message", "type", "code"}} (OpenAI, vLLM, llama.cpp, whose
// code may be a number or a string), {"error": "text"} (Ollama) and
// {"message": ...}.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

type errorObject struct {
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// parseErrorBody fills e from body: {"error":{...}}, {"error":"text"},
// top-level {"message",...} (old vLLM), or any other text, cut short.
func parseErrorBody(e *APIError, body []byte) {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		raw := bytes.TrimSpace(eb.Error)
		switch {
		case len(raw) > 0 && raw[0] == '{':
			var o errorObject
			if json.Unmarshal(raw, &o) == nil {
				e.Message, e.Type, e.Param = jsonText(o.Message), jsonText(o.Type), jsonText(o.Param)
				e.Code = rawOrNil(o.Code)
				if e.Message == "" {
					e.Message = shorten(raw)
				}
				return
			}
		case len(raw) > 0 && raw[0] == '"':
			e.Message = jsonText(raw)
			return
		case len(bytes.TrimSpace(eb.Message)) > 0:
			e.Message, e.Type, e.Param = jsonText(eb.Message), jsonText(eb.Type), jsonText(eb.Param)
			e.Code = rawOrNil(eb.Code)
			return
		}
	}
	e.Message = shorten(body)
}

func rawOrNil(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return append(json.RawMessage(nil), raw...)
}

// jsonText returns a JSON string's value, a number or other value as
// written, and "" for null or nothing.
func jsonText(raw json.RawMessage) string {
	return codeString(raw)
}

// maxMessageBytes bounds the raw body text quoted in an error.
const maxMessageBytes = 200

// shorten turns a body that is not a known error shape (an HTML page from a
// proxy, plain text) into one line of at most about 200 bytes.
func shorten(body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(body)) + " bytes)"
}
