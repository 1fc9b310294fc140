package registry

import "errors"

// ErrRestarted is the cause of a run cancelled because the producer of a
// stream it reads was run again and streams again from its first chunk
// (docs/execution.md, "Restarted generations"), and the error its reads
// of the old stream return. The run is executed again, for the same
// generation, on the new stream; only stateless types and those that
// declare [Spec].Restartable are.
var ErrRestarted = errors.New("the producer of this stream was run again and streams again from its first chunk")

// A Restarted is an [Inputs] that knows how many times its run started
// over. The engine's inputs are; see [Restarts].
type Restarted interface {
	// Restarts returns how many times the run started over.
	Restarts() int
}

// Restarts returns how many times the run whose inputs are in started
// over because a stream it reads started over (see [ErrRestarted]): 0 for
// its first execution, 1 for the next, and so on. It returns 0 when in
// does not know it.
func Restarts(in Inputs) int {
	if r, ok := in.(Restarted); ok {
		return r.Restarts()
	}
	return 0
}
