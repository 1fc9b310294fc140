//go:build linux

package console

import (
	"errors"
	"fmt"
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

// TestRawBetweenReads checks Raw on a real pseudo-terminal: raw without
// signals during a read, raw (no echo, no line editing) with signals
// between reads, and, after Restore, the terminal as it was, for good.
func TestRawBetweenReads(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	fd := int(tty.Fd())
	get := func() *unix.Termios {
		t.Helper()
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio
	}
	const modes = unix.ECHO | unix.ICANON | unix.ISIG
	want := func(what string, lflag uint32) {
		t.Helper()
		if got := get().Lflag & modes; got != lflag {
			t.Errorf("%s: lflag has %#o of ECHO|ICANON|ISIG, want %#o", what, got, lflag)
		}
	}
	before := get()
	if before.Lflag&modes != modes {
		t.Fatalf("a new pseudo-terminal has lflag %#o, want ECHO, ICANON and ISIG on", before.Lflag)
	}
	r := NewRaw(fd)
	if err := r.Exit(); err != nil {
		t.Fatal(err)
	}
	want("Exit before any Enter", modes)
	for i := range 2 {
		if err := r.Enter(); err != nil {
			t.Fatal(err)
		}
		want(fmt.Sprintf("read %d", i+1), 0)
		if err := r.Exit(); err != nil {
			t.Fatal(err)
		}
		want(fmt.Sprintf("after read %d", i+1), unix.ISIG)
	}
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if after := get(); *after != *before {
		t.Errorf("restored termios %+v, want %+v", after, before)
	}
	if err := errors.Join(r.Enter(), r.Exit(), r.Restore()); err != nil {
		t.Fatal(err)
	}
	if after := get(); *after != *before {
		t.Errorf("Enter, Exit and Restore after Restore changed the terminal to %+v", after)
	}
}
