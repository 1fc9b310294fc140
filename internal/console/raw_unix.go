//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package console

import "golang.org/x/sys/unix"

// keepOutputProcessing turns OPOST back on for fd.
func keepOutputProcessing(fd int) error {
	return updateTermios(fd, func(t *unix.Termios) { t.Oflag |= unix.OPOST })
}

// setSignals turns ISIG (Ctrl-C sends SIGINT) on or off for fd.
func setSignals(fd int, on bool) error {
	return updateTermios(fd, func(t *unix.Termios) {
		if on {
			t.Lflag |= unix.ISIG
		} else {
			t.Lflag &^= unix.ISIG
		}
	})
}

// updateTermios reads fd's terminal attributes, lets change modify them
// and writes them back, with the platform's ioctl requests.
func updateTermios(fd int, change func(*unix.Termios)) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	change(t)
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}
