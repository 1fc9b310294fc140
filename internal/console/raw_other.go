//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package console

// keepOutputProcessing does nothing where x/term.MakeRaw leaves output
// processing alone (Windows) or termios is not known.
func keepOutputProcessing(fd int) error { return nil }

// setSignals does nothing where termios is not known.
func setSignals(fd int, on bool) error { return nil }
