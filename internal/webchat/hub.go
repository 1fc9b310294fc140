// Package webchat serves a chat page in a browser: the HTTP server and the
// conversation shared by the web.input and web.output node types.
//
// One [Hub] serves one address. The page submits prompts (POST
// /api/prompt), which web.input takes one by one with [Hub.NextPrompt];
// web.output publishes each answer's pieces with [Hub.Publish]; every
// connected page receives the conversation as Server-Sent Events (GET
// /api/events). SSE rather than WebSocket: the traffic is one-way
// (server to page) apart from two small POSTs, EventSource reconnects by
// itself and resends Last-Event-ID so that a reconnecting page gets what
// it missed from the history, and it needs no library on either side.
//
// The hub keeps the conversation (bounded by MaxHistoryBytes) so that a
// reloaded page or a second tab shows it all and then continues live.
// Publishing never blocks: each page has a buffer of ClientBuffer
// events; a page that falls further behind is disconnected, and its
// EventSource reconnects and catches up from the history, so a slow page
// never holds up the flow.
package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limits of a hub.
const (
	// ClientBuffer is how many events a page may fall behind before it is
	// disconnected (it then reconnects and catches up from the history).
	ClientBuffer = 1024
	// MaxHistoryBytes bounds the conversation kept for replay; the oldest
	// events are dropped beyond it.
	MaxHistoryBytes = 8 << 20
	// MaxPromptBytes bounds a prompt.
	MaxPromptBytes = 64 << 10
	// MaxPending bounds the prompts submitted and not yet taken by the
	// flow; beyond it a submission gets 429.
	MaxPending = 64
)

// An Event is one thing the page shows, sent as one SSE event.
type Event struct {
	// ID numbers the events from 1, in order.
	ID int64 `json:"id"`
	// Type is prompt, start (an answer begins), chunk, reasoning,
	// restart (the answer in progress was lost mid-stream and starts over:
	// the page marks what it shows of it as lost, and the chunks and
	// reasoning that follow are the new answer; no end comes between),
	// end, error, usage or reset (sent first to a page whose Last-Event-ID
	// is older than the history kept: it shows the history afresh).
	Type string `json:"type"`
	// Turn numbers the prompts from 1; an answer has its prompt's turn.
	Turn int `json:"turn,omitempty"`
	// Text is the prompt, the piece of answer or reasoning, or the error.
	Text string `json:"text,omitempty"`
	// Interrupted marks an end cut by Stop (or Ctrl-C).
	Interrupted bool `json:"interrupted,omitempty"`
	// Usage is the token usage of an answer.
	Usage map[string]any `json:"usage,omitempty"`
}

func (e Event) size() int { return len(e.Text) + 64 }

// Config configures a hub.
type Config struct {
	// Addr is the address to listen on, host:port; port 0 picks one.
	Addr string
	// Token, when not empty, must be given by every request (?token= on
	// the page's address, then a cookie). It is required when Addr is not
	// a loopback address.
	Token string
	// Interrupt cuts the answer in flight (Stop); nil disables Stop.
	Interrupt func() int
	// Notice receives the line that says where the page is; nil
	// discards it.
	Notice io.Writer
	// ClientBuffer and MaxHistoryBytes override the defaults of the same
	// names when positive (for tests).
	ClientBuffer    int
	MaxHistoryBytes int
}

// A Hub is the server of one address and its conversation.
type Hub struct {
	cfg Config

	mu       sync.Mutex
	history  []Event
	histSize int
	nextID   int64
	turns    int // prompts submitted
	answers  int // answers started
	subs     map[chan Event]struct{}
	refs     int
	srv      *http.Server
	ln       net.Listener
	serveErr chan error
	closed   chan struct{}
	isClosed bool

	prompts chan string
}

// New returns a hub that is not listening yet (see [Hub.Start]). It
// refuses a non-loopback address without a token.
func New(cfg Config) (*Hub, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w (write host:port, such as 127.0.0.1:8765)", cfg.Addr, err)
	}
	if !isLoopback(host) && cfg.Token == "" {
		return nil, fmt.Errorf("listen address %q is not a loopback address: anyone who can reach it could chat as you, so a token is required (set $%s)", cfg.Addr, TokenEnv)
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = ClientBuffer
	}
	if cfg.MaxHistoryBytes <= 0 {
		cfg.MaxHistoryBytes = MaxHistoryBytes
	}
	return &Hub{
		cfg:     cfg,
		subs:    make(map[chan Event]struct{}),
		closed:  make(chan struct{}),
		prompts: make(chan string, MaxPending),
	}, nil
}

// TokenEnv is the environment variable the web node types read the token
// from by default.
const TokenEnv = "FLOWRUN_WEB_TOKEN"

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Acquire counts one more user of the hub; each calls Release once.
func (h *Hub) Acquire() {
	h.mu.Lock()
	h.refs++
	h.mu.Unlock()
}

// Start listens and serves, once; later calls return the first result.
func (h *Hub) Start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return errors.New("the web server is closed")
	}
	if h.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", h.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set another address, e.g. FLOWRUN_WEB_ADDR=127.0.0.1:8766)", h.cfg.Addr, err)
	}
	h.ln = ln
	h.srv = &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	h.serveErr = make(chan error, 1)
	go func() { h.serveErr <- h.srv.Serve(ln) }()
	if h.cfg.Notice != nil {
		fmt.Fprintf(h.cfg.Notice, "flowrun: chat page at %s\n", h.URL())
	}
	return nil
}

// URL returns the page's address once the hub listens (with the token,
// for a non-loopback address).
func (h *Hub) URL() string {
	if h.ln == nil {
		return ""
	}
	u := "http://" + h.ln.Addr().String() + "/"
	if h.cfg.Token != "" {
		u += "?token=<$" + TokenEnv + ">"
	}
	return u
}

// Addr returns the address the hub listens on, or "" before Start.
func (h *Hub) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

// Release ends one user's use; the last one closes the server and ends
// the pages' event streams. It waits for the server until ctx is done.
func (h *Hub) Release(ctx context.Context) error {
	h.mu.Lock()
	h.refs--
	if h.refs > 0 || h.isClosed {
		h.mu.Unlock()
		return nil
	}
	h.isClosed = true
	close(h.closed)
	srv := h.srv
	h.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if serr := <-h.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Submit adds a prompt: it is shown to every page at once and waits for
// web.input. It fails when MaxPending prompts wait already.
func (h *Hub) Submit(text string) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return 0, errClosed
	}
	select {
	case h.prompts <- text:
	default:
		return 0, errBusy
	}
	h.turns++
	h.publishLocked(Event{Type: "prompt", Turn: h.turns, Text: text})
	return h.turns, nil
}

var (
	errBusy   = fmt.Errorf("%d prompts are waiting already; wait for an answer", MaxPending)
	errClosed = errors.New("the chat has ended")
)

// NextPrompt blocks until a prompt is submitted or ctx is done.
func (h *Hub) NextPrompt(ctx context.Context) (string, error) {
	select {
	case p := <-h.prompts:
		return p, nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	case <-h.closed:
		return "", errClosed
	}
}

// BeginAnswer starts an answer and returns its turn: answers are given
// to the prompts in order.
func (h *Hub) BeginAnswer() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answers++
	h.publishLocked(Event{Type: "start", Turn: h.answers})
	return h.answers
}

// RestartAnswer says that the answer of turn, begun and not ended, starts
// over: its stream was lost mid-answer and streams again from its start.
// The history keeps the lost part followed by the restart event, so a
// page that joins later shows the lost part marked as such too, never as
// an answer. The new answer continues the same turn: its chunks follow
// and then its end, with no new start.
func (h *Hub) RestartAnswer(turn int) {
	h.Publish(Event{Type: "restart", Turn: turn})
}

// Publish sends e to every page and keeps it in the history. It never
// blocks.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publishLocked(e)
}

func (h *Hub) publishLocked(e Event) {
	h.nextID++
	e.ID = h.nextID
	h.history = append(h.history, e)
	h.histSize += e.size()
	drop := 0
	for h.histSize > h.cfg.MaxHistoryBytes && drop < len(h.history)-1 {
		h.histSize -= h.history[drop].size()
		drop++
	}
	if drop > 0 {
		h.history = append([]Event(nil), h.history[drop:]...)
	}
	for ch := range h.subs {
		select {
		case ch <- e:
		default: // too slow: disconnected, it catches up on reconnect
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// History returns the events kept for replay, oldest first.
func (h *Hub) History() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.history...)
}

// subscribe returns the events after lastID (all with a reset first when
// the history no longer reaches back to it) and a channel of the next.
func (h *Hub) subscribe(lastID int64) ([]Event, chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var replay []Event
	switch {
	case lastID > 0 && len(h.history) > 0 && h.history[0].ID <= lastID+1:
		for _, e := range h.history {
			if e.ID > lastID {
				replay = append(replay, e)
			}
		}
	case lastID > 0 && len(h.history) == 0 && lastID == h.nextID:
	default:
		replay = append([]Event{{Type: "reset", ID: h.resetID()}}, h.history...)
	}
	ch := make(chan Event, h.cfg.ClientBuffer)
	if !h.isClosed {
		h.subs[ch] = struct{}{}
	} else {
		close(ch)
	}
	return replay, ch
}

// resetID is the id of a reset event: the id before the first kept.
func (h *Hub) resetID() int64 {
	if len(h.history) > 0 {
		return h.history[0].ID - 1
	}
	return h.nextID
}

func (h *Hub) unsubscribe(ch chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// writeEvent writes e in the SSE format.
func writeEvent(w io.Writer, e Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", strconv.FormatInt(e.ID, 10), e.Type, data)
	return err
}
