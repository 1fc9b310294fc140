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
