// Package secret keeps the values a flow must never show: API keys, tokens
// and passwords that reached it from the environment. A [Set] collects
// them (it records every variable read through [Set.Getenv]) and masks
// them by value in strings, JSON-shaped values, log handlers and writers,
// the way CI systems mask secrets in build logs.
//
// Masking is by value, so it also catches a secret that a server echoes
// in an error body, that sits in a URL's user information or query, or
// that an error message quoted: each value is also masked in its quoted,
// JSON-escaped, URL-escaped and base64 forms. Values shorter than [MinLen]
// bytes are never masked (see [Set.Add]).
package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mask replaces a secret in everything a Set masks.
const Mask = "***"

// MinLen is the length, in bytes, below which a value is not masked.
// Masking "1", "true", "debug" or a port number would garble every message
// that happens to contain them, and a secret that short is guessed anyway.
const MinLen = 6

// A Set holds secret values. The zero value is not usable; create one with
// [NewSet]. A nil *Set holds nothing: its methods mask nothing and record
// nothing, so code can use one without checking. A Set is safe for
// concurrent use, and grows while a flow runs (a node reads a variable
// when it runs): everything masked after [Set.Add] returns masks the new
// value.
type Set struct {
	mu       sync.RWMutex
	values   map[string]bool
	variants []string // every form of every value, longest first
	replacer *strings.Replacer
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{values: map[string]bool{}}
}

// Add records v as a secret and reports whether it did: a value shorter
// than MinLen is not recorded.
func (s *Set) Add(v string) bool {
	if s == nil || len(v) < MinLen {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values[v] {
		return true
	}
	s.values[v] = true
	for _, f := range forms(v) {
		if !slices.Contains(s.variants, f) {
			s.variants = append(s.variants, f)
		}
	}
	// Longest first, so that a value containing another is masked whole.
	slices.SortStableFunc(s.variants, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(s.variants))
	for _, f := range s.variants {
		pairs = append(pairs, f, Mask)
	}
	s.replacer = strings.NewReplacer(pairs...)
	return true
}

// forms returns v and the forms it takes once quoted, escaped or encoded:
// by Go's %q, in a JSON string (with and without HTML escaping), in a JSON
// string of a %q-quoted message, in a URL's query or path, and in base64.
func forms(v string) []string {
	fs := []string{v}
	add := func(f string) {
		if len(f) >= MinLen && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	q := strconv.Quote(v)
	q = q[1 : len(q)-1]
	add(q)
	add(jsonInner(v, true))
	add(jsonInner(v, false))
	add(jsonInner(q, false))
	add(jsonInner(q, true))
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	// In base64, as in a Basic Authorization header ("user:" + v) that a
	// server echoes: v starts at any of three offsets in a 3-byte group,
	// and for each, the groups that hold only bytes of v encode the same
	// whatever comes before or after.
	for skip := range 3 {
		n := (len(v) - skip) / 3 * 3
		if n <= 0 {
			continue
		}
		add(base64.StdEncoding.EncodeToString([]byte(v[skip : skip+n])))
		add(base64.URLEncoding.EncodeToString([]byte(v[skip : skip+n])))
	}
	return fs
}

func jsonInner(v string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// AddValue records v as a secret, except that of a URL (scheme://host...)
// it records only the parts that carry credentials: the user name and
// password, and the value of every query parameter. A server's address,
// such as $OPENAI_BASE_URL, stays readable in messages while a key in it
// is masked.
func (s *Set) AddValue(v string) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		s.Add(v)
		return
	}
	if u.User != nil {
		s.Add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			s.Add(p)
		}
	}
	for _, vals := range u.Query() {
		for _, q := range vals {
			s.Add(q)
		}
	}
}

// Len returns the number of secret values in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}

// Mask returns str with every secret replaced by [Mask].
func (s *Set) Mask(str string) string {
	if s == nil {
		return str
	}
	s.mu.RLock()
	r := s.replacer
	s.mu.RUnlock()
	if r == nil {
		return str
	}
	return r.Replace(str)
}

// Contains reports whether str contains a secret, in any of its forms.
func (s *Set) Contains(str string) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range s.variants {
		if strings.Contains(str, f) {
			return true
		}
	}
	return false
}

// MaskValue returns a copy of v, a JSON-shaped value (maps, slices,
// strings, numbers, booleans, nil), with every string masked. Other
// values are returned unchanged.
func (s *Set) MaskValue(v any) any {
	if s.Len() == 0 {
		return v
	}
	switch v := v.(type) {
	case string:
		return s.Mask(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = s.MaskValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[s.Mask(k)] = s.MaskValue(e)
		}
		return out
	}
	return v
}

// MaskError returns an error whose message is err's, masked, and which
// unwraps to err; nil stays nil.
func (s *Set) MaskError(err error) error {
	if err == nil || s.Len() == 0 {
		return err
	}
	msg := s.Mask(err.Error())
	if msg == err.Error() {
		return err
	}
	return &maskedError{msg: msg, err: err}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// Getenv returns a function that reads variables with getenv (nil: none
// is set) and records every value it returns as a secret, except the
// values of the well-known variables that are not secrets (see
// [NotSecret]), a URL's credentials only (see [Set.AddValue]). Give it to the loader and to the nodes, and every value a
// flow takes from the environment, through ${VAR}, headers_env, pass_env or
// an API-key variable, is masked.
func (s *Set) Getenv(getenv func(string) string) func(string) string {
	return func(name string) string {
		if getenv == nil {
			return ""
		}
		v := getenv(name)
		if !NotSecret(name) {
			s.AddValue(v)
		}
		return v
	}
}

// AddEnviron records the value of every variable in environ ("NAME=value"
// entries, as from os.Environ) whose name [LooksSecret] or is one of
// names, whether or not a flow reads it.
func (s *Set) AddEnviron(environ []string, names ...string) {
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if ok && (LooksSecret(name) || slices.Contains(names, name)) {
			s.Add(v)
		}
	}
}

// secretWords are the name parts that make a variable a secret by name.
var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS", "AUTH"}

// LooksSecret reports whether a variable's name marks it as a secret: one
// of its "_"-separated words, upper-cased, is KEY, TOKEN, SECRET,
// PASSWORD, PASSWD, CREDENTIALS or AUTH, as in OPENAI_API_KEY,
// GITHUB_TOKEN, DB_PASSWORD or SECRET.
func LooksSecret(name string) bool {
	for _, w := range strings.Split(strings.ToUpper(name), "_") {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// notSecret lists the variables whose values are not secrets even when a
// flow reads them: paths and settings of the user's session.
var notSecret = []string{"HOME", "USER", "LOGNAME", "PWD", "PATH", "SHELL", "TMPDIR", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "NO_COLOR", "OPENAI_MODEL", "FLOWRUN_WEB_ADDR"}

// NotSecret reports whether name is a well-known variable whose value is
// not a secret (HOME, USER, LOGNAME, PWD, PATH, SHELL, TMPDIR, TERM, LANG,
// LC_ALL, LC_CTYPE, TZ, NO_COLOR, OPENAI_MODEL, FLOWRUN_WEB_ADDR), so that
// ${HOME} in a path does not turn every message about the file into
// "***/...", nor ${FLOWRUN_WEB_ADDR} the chat page's address into "***".
func NotSecret(name string) bool {
	return slices.Contains(notSecret, name)
}

// FromEnv returns a set holding the values of the process's variables
// whose names look secret or are listed in names, that records every
// variable read through its Getenv.
func FromEnv(names ...string) *Set {
	s := NewSet()
	s.AddEnviron(os.Environ(), names...)
	return s
}

// Handler returns a slog handler that masks the message and every
// attribute value of each record (strings, errors, and the text of any
// other value that contains a secret) before h handles it.
func (s *Set) Handler(h slog.Handler) slog.Handler {
	return &handler{set: s, h: h}
}

type handler struct {
	set *Set
	h   slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if h.set.Len() == 0 {
		return h.h.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, h.set.Mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.set.maskAttr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.set.maskAttr(a)
	}
	return &handler{set: h.set, h: h.h.WithAttrs(masked)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{set: h.set, h: h.h.WithGroup(name)}
}

func (s *Set) maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, s.Mask(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = s.maskAttr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, s.Mask(x.Error()))
		case string, []any, map[string]any:
			return slog.Any(a.Key, s.MaskValue(x))
		default:
			if text := v.String(); s.Contains(text) {
				return slog.String(a.Key, s.Mask(text))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
