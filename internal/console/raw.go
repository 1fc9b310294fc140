// Package console holds the terminal handling of the interactive nodes
// (term.chat, term.input, term.print): a raw mode that keeps output
// processing, and a Console that reads lines with a line editor while
// output is printed above the line being edited.
package console

import (
	"sync"

	"golang.org/x/term"
)

// MakeRaw puts the terminal fd into raw mode for a line editor, as
// cfmakeraw(3) does except that output processing (OPOST) stays on: a "\n"
// written while the editor reads still starts the next line at column 0.
// x/term.MakeRaw clears OPOST, which left every answer printed after a
// prompt indented under the end of the prompt. It returns the state to
// restore with term.Restore.
func MakeRaw(fd int) (*term.State, error) {
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	if err := keepOutputProcessing(fd); err != nil {
		term.Restore(fd, state)
		return nil, err
	}
	return state, nil
}

// A Raw keeps a terminal raw, without echo, from a line editor's first
// read until Restore, so that keys typed while no read is pending (during
// an answer) are neither echoed into the output nor lost: the next read
// gets them. Between reads Ctrl-C still sends SIGINT (ISIG), which
// interrupts the answer; during a read the editor gets it as a key. Enter
// and Exit are the editor's FuncMakeRaw and FuncExitRaw; they may be
// called from any goroutine.
type Raw struct {
	fd       int
	mu       sync.Mutex
	state    *term.State // to restore; nil before the first Enter
	restored bool
}

// NewRaw returns a Raw for the terminal fd, which it does not change yet.
func NewRaw(fd int) *Raw { return &Raw{fd: fd} }

// Enter starts a read: the first call makes the terminal raw (see
// MakeRaw), later ones turn signals off again. After Restore it does
// nothing.
func (r *Raw) Enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.restored:
		return nil
	case r.state != nil:
		return setSignals(r.fd, false)
	}
	s, err := MakeRaw(r.fd)
	r.state = s
	return err
}

// Exit ends a read: the terminal stays raw, with signals on.
func (r *Raw) Exit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.restored || r.state == nil {
		return nil
	}
	return setSignals(r.fd, true)
}

// Restore puts the terminal back as it was before the first Enter, for
// good: Enter and Exit do nothing afterwards.
func (r *Raw) Restore() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.restored {
		return nil
	}
	r.restored = true
	if r.state == nil {
		return nil
	}
	return term.Restore(r.fd, r.state)
}
