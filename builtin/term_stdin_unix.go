//go:build unix

package builtin

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// cancelableStdin returns a reader of r whose Read, even one already
// blocked waiting for input, returns io.EOF once cancel was called, and
// cancel. A read of a terminal cannot be interrupted otherwise: closing the
// line editor leaves its reading goroutine blocked until the next
// keystroke, which an embedding program sees as a leaked goroutine. When r
// is not a file, it is returned as is and cancel does nothing.
func cancelableStdin(r io.Reader) (io.Reader, func()) {
	f, ok := r.(*os.File)
	if !ok {
		return r, func() {}
	}
	fd, ok := rawFd(f)
	if !ok {
		return r, func() {}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return r, func() {}
	}
	wakeFd, _ := rawFd(pr)
	c := &cancelReader{f: f, fd: fd, wakeR: pr, wakeW: pw, wakeFd: wakeFd, woken: make(chan struct{})}
	return c, c.cancel
}

// rawFd returns f's descriptor without File.Fd's side effect of putting
// it in blocking mode.
func rawFd(f *os.File) (int, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil {
		return 0, false
	}
	return fd, true
}

// A cancelReader waits with poll(2) for either its file or its wake pipe,
// which cancel closes. The pipe's read end is closed by whoever is last to
// use it: cancel when no Read is waiting, else that Read, which cancel
// then waits for.
type cancelReader struct {
	f            *os.File
	fd, wakeFd   int
	wakeR, wakeW *os.File
	woken        chan struct{} // closed by a waiting Read that saw cancel

	mu        sync.Mutex
	cancelled bool
	waiting   bool
}

func (c *cancelReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.cancelled {
		c.mu.Unlock()
		return 0, io.EOF
	}
	c.waiting = true
	c.mu.Unlock()
	fds := []unix.PollFd{
		{Fd: int32(c.fd), Events: unix.POLLIN},
		{Fd: int32(c.wakeFd), Events: unix.POLLIN},
	}
	var err error
	for {
		_, err = unix.Poll(fds, -1)
		if err != unix.EINTR {
			break
		}
	}
	c.mu.Lock()
	c.waiting = false
	if c.cancelled {
		c.wakeR.Close()
		close(c.woken)
		c.mu.Unlock()
		return 0, io.EOF
	}
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.f.Read(p)
}

// cancel wakes a waiting Read, waits for it to return and makes every
// later Read return io.EOF at once.
func (c *cancelReader) cancel() {
	c.mu.Lock()
	if c.cancelled {
		c.mu.Unlock()
		return
	}
	c.cancelled = true
	c.wakeW.Close()
	waiting := c.waiting
	if !waiting {
		c.wakeR.Close()
	}
	c.mu.Unlock()
	if waiting {
		<-c.woken
	}
}
