package webchat

import (
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var page []byte

// tokenCookie carries the token once the page was opened with ?token=.
const tokenCookie = "flowrun_token"

// Handler returns the hub's HTTP handler:
//
//	GET  /             the page
//	GET  /api/events   the conversation as Server-Sent Events
//	POST /api/prompt   {"text": "..."}: submit a prompt
//	POST /api/stop     cut the answer in flight
//
// Every request passes the checks of [Hub.check] first.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.servePage)
	mux.HandleFunc("GET /api/events", h.serveEvents)
	mux.HandleFunc("POST /api/prompt", h.servePrompt)
	mux.HandleFunc("POST /api/stop", h.serveStop)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := h.check(r); status != 0 {
			fail(w, status, msg)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// fail answers with status and a one-line plain-text body.
func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// check refuses what must not reach the chat:
//   - a Host other than the address listened on, when no token is set:
//     a page of another site whose name was rebound to 127.0.0.1 (DNS
//     rebinding) sends its own name as Host;
//   - an Origin other than the page's own: another site's page in the
//     same browser (cross-site requests);
//   - without the token, when one is set.
func (h *Hub) check(r *http.Request) (int, string) {
	if h.cfg.Token == "" && !h.hostAllowed(r.Host) {
		return http.StatusMisdirectedRequest, fmt.Sprintf("host %q refused: open the page at http://%s/ (DNS rebinding protection)", r.Host, h.listenAddr())
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return http.StatusForbidden, fmt.Sprintf("origin %q refused: only the page itself may use the chat (cross-site request)", o)
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return http.StatusForbidden, "cross-site request refused"
	}
	if h.cfg.Token != "" && !h.tokenOK(r) {
		return http.StatusUnauthorized, "token required: open the page as http://" + r.Host + "/?token=<the value of $" + TokenEnv + ">"
	}
	return 0, ""
}

// listenAddr is the address listened on, or the configured one.
func (h *Hub) listenAddr() string {
	if a := h.Addr(); a != "" {
		return a
	}
	return h.cfg.Addr
}

// hostAllowed reports whether host (a Host header) names the loopback
// address listened on: its IP, or localhost, with its port.
func (h *Hub) hostAllowed(host string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	_, lport, err := net.SplitHostPort(h.listenAddr())
	if err != nil || port != lport {
		return false
	}
	return isLoopback(strings.Trim(name, "[]"))
}

func (h *Hub) tokenOK(r *http.Request) bool {
	got := r.URL.Query().Get("token")
	if got == "" {
		if c, err := r.Cookie(tokenCookie); err == nil {
			got = c.Value
		}
	}
	if got == "" {
		got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Token)) == 1
}

func (h *Hub) servePage(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Token != "" && r.URL.Query().Get("token") != "" {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: h.cfg.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.Write(page)
}

func (h *Hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	var last int64
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID %q is not an event id", s))
			return
		}
		last = id
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	replay, ch := h.subscribe(last)
	defer h.unsubscribe(ch)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	io.WriteString(w, "retry: 1000\n\n")
	for _, e := range replay {
		if writeEvent(w, e) != nil {
			return
		}
	}
	flusher.Flush()
	keepAlive := time.NewTicker(20 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return // too slow, or the chat ended: the page reconnects
			}
			if writeEvent(w, e) != nil {
				return
			}
			// Write what is already queued before flushing once.
			for more := true; more; {
				select {
				case e, ok := <-ch:
					if !ok {
						flusher.Flush()
						return
					}
					if writeEvent(w, e) != nil {
						return
					}
				default:
					more = false
				}
			}
			flusher.Flush()
		case <-keepAlive.C:
			io.WriteString(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-h.closed:
			return
		}
	}
}

// A promptRequest is the body of POST /api/prompt.
type promptRequest struct {
	Text string `json:"text"`
}

func (h *Hub) servePrompt(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, `send the prompt as JSON: Content-Type: application/json, body {"text": "..."}`)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPromptBytes+1024))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the prompt is too long: at most %d bytes", MaxPromptBytes))
		return
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "read the request: "+err.Error())
		return
	}
	var req promptRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, `the body must be {"text": "..."}: `+err.Error())
		return
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		fail(w, http.StatusBadRequest, "the prompt is empty")
		return
	case len(text) > MaxPromptBytes:
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the prompt is too long: at most %d bytes", MaxPromptBytes))
		return
	}
	turn, err := h.Submit(text)
	switch {
	case errors.Is(err, errBusy):
		fail(w, http.StatusTooManyRequests, err.Error())
		return
	case err != nil:
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"turn\":%d}\n", turn)
}

func (h *Hub) serveStop(w http.ResponseWriter, r *http.Request) {
	cut := 0
	if h.cfg.Interrupt != nil {
		cut = h.cfg.Interrupt()
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"cut\":%d}\n", cut)
}
