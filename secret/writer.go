package secret

import (
	"io"
	"strings"
	"sync"
)

// A Writer masks the secrets of a Set in everything written through it.
// A secret split across two writes is still masked: the end of a write
// that could be the start of a secret is held back until the next write
// shows whether it is, or until [Writer.Flush]. Flush before the
// underlying writer is closed or read.
type Writer struct {
	set *Set
	w   io.Writer

	mu      sync.Mutex
	pending string
}

// Writer returns a Writer that masks s's secrets and writes to w.
func (s *Set) Writer(w io.Writer) *Writer {
	return &Writer{set: s, w: w}
}

// Write masks p and writes it, except for a held-back end that may be the
// start of a secret. It returns len(p) on success.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.set.Len() == 0 && w.pending == "" {
		return w.w.Write(p)
	}
	data := w.set.Mask(w.pending + string(p))
	keep := w.set.partialSuffix(data)
	w.pending = data[len(data)-keep:]
	if _, err := io.WriteString(w.w, data[:len(data)-keep]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what Write held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == "" {
		return nil
	}
	_, err := io.WriteString(w.w, w.set.Mask(w.pending))
	w.pending = ""
	return err
}

// partialSuffix returns the length of the longest end of data that is the
// beginning, but not the whole, of a form of a secret.
func (s *Set) partialSuffix(data string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	best := 0
	for _, f := range s.variants {
		for n := min(len(f)-1, len(data)); n > best; n-- {
			if strings.HasSuffix(data, f[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// Unwrap returns the underlying writer, so that a caller can tell whether
// it is a terminal.
func (w *Writer) Unwrap() io.Writer { return w.w }
