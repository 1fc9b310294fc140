//go:build linux

package console

import (
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// TestMakeRawKeepsOutputProcessing checks on a real pseudo-terminal that
// MakeRaw turns off echo, line editing and signals, keeps OPOST (and so
// ONLCR) on, and that the saved state restores the terminal.
func TestMakeRawKeepsOutputProcessing(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	fd := int(tty.Fd())
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	state, err := MakeRaw(fd)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Oflag&unix.OPOST == 0 || raw.Oflag&unix.ONLCR != before.Oflag&unix.ONLCR {
		t.Errorf("raw mode: oflag %#o, want OPOST and ONLCR as before (%#o)", raw.Oflag, before.Oflag)
	}
	if raw.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 {
		t.Errorf("raw mode: lflag %#o still has ECHO, ICANON or ISIG", raw.Lflag)
	}
	if err := term.Restore(fd, state); err != nil {
		t.Fatal(err)
	}
	after, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("restored termios %+v, want %+v", after, before)
	}
}
