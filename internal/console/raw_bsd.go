//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package console

import "golang.org/x/sys/unix"

// keepOutputProcessing turns OPOST back on for fd.
func keepOutputProcessing(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TIOCGETA)
	if err != nil {
		return err
	}
	t.Oflag |= unix.OPOST
	return unix.IoctlSetTermios(fd, unix.TIOCSETA, t)
}

// setSignals turns ISIG (Ctrl-C sends SIGINT) on or off for fd.
func setSignals(fd int, on bool) error {
	t, err := unix.IoctlGetTermios(fd, unix.TIOCGETA)
	if err != nil {
		return err
	}
	if on {
		t.Lflag |= unix.ISIG
	} else {
		t.Lflag &^= unix.ISIG
	}
	return unix.IoctlSetTermios(fd, unix.TIOCSETA, t)
}
