//go:build unix

package tests

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
)

// A screen is what a person sees in the terminal: a terminal emulator
// (charmbracelet/x/vt) fed with everything the program writes to its
// pseudo-terminal. It answers the program's queries (such as the line
// editor's cursor position query) as a terminal would, through reply.
type screen struct {
	mu      sync.Mutex
	em      *vt.Emulator
	changed chan struct{} // closed and replaced at each write
	closed  bool
}

// newScreen returns a cols×rows screen whose answers to queries are
// written to reply (the pseudo-terminal's master side).
func newScreen(cols, rows int, reply func([]byte)) *screen {
	s := &screen{em: vt.NewEmulator(cols, rows), changed: make(chan struct{})}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := s.em.Read(buf)
			if n > 0 {
				reply(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// Write draws output of the program.
func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.em.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// Close says that no more output will come, and stops the replies.
func (s *screen) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.changed)
		// Closing the replies' pipe ends the reading goroutine (the
		// emulator's own Close races with its Read).
		if c, ok := s.em.InputPipe().(io.Closer); ok {
			c.Close()
		}
	}
}

// rows returns the screen's rows, each without trailing spaces.
func (s *screen) rows() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rowsLocked()
}

func (s *screen) rowsLocked() []string {
	rows := make([]string, s.em.Height())
	for y := range rows {
		var b strings.Builder
		for x := 0; x < s.em.Width(); x++ {
			c := s.em.CellAt(x, y)
			switch {
			case c == nil || c.Content == "":
				if c != nil && c.Width == 0 {
					continue // the second column of a wide character
				}
				b.WriteByte(' ')
			default:
				b.WriteString(c.Content)
			}
		}
		rows[y] = strings.TrimRight(b.String(), " ")
	}
	return rows
}

// text returns the screen as lines, without the empty rows at the end.
func (s *screen) text() string {
	rows := s.rows()
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return strings.Join(rows, "\n")
}

// cursor returns the cursor's column and row, from 0.
func (s *screen) cursor() (col, row int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.em.CursorPosition()
	return p.X, p.Y
}

// faint reports whether the cell at col, row is drawn dimmed (SGR 2).
func (s *screen) faint(col, row int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.em.CellAt(col, row)
	return c != nil && c.Style.Attrs&uv.AttrFaint != 0
}

// waitUntil waits until ok holds for the screen's rows, and fails the test
// with what the screen shows when the output ends or waitTime passes
// first.
func (s *screen) waitUntil(t *testing.T, what string, ok func(rows []string) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTime)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		rows := s.rowsLocked()
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		if ok(rows) {
			return
		}
		if closed {
			t.Fatalf("the program ended before the screen showed %s; it shows:\n%s", what, strings.Join(rows, "\n"))
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the screen did not show %s within %v; it shows:\n%s", what, waitTime, strings.Join(rows, "\n"))
		}
	}
}

// rowIndex returns the index of the last row equal to want, or -1.
func rowIndex(rows []string, want string) int {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i] == want {
			return i
		}
	}
	return -1
}
