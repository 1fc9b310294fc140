//go:build !unix

package builtin

import "io"

// cancelableStdin returns r and a cancel that does nothing: outside Unix a
// pending read of the terminal ends at the next keystroke.
func cancelableStdin(r io.Reader) (io.Reader, func()) { return r, func() {} }
