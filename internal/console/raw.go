// Package console holds the terminal handling of the interactive nodes
// (term.chat, term.input, term.print): a raw mode that keeps output
// processing, and a Console that reads lines with a line editor while
// output is printed above the line being edited.
package console

import "golang.org/x/term"

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
