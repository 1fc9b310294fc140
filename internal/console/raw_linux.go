package console

import "golang.org/x/sys/unix"

// Linux's ioctl requests for reading and setting terminal attributes.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)
