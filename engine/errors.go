package engine

import (
	"fmt"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// A NodeError is a failed run of a node, or a node that could not be
// created or closed: it names the node, its type, its position in the
// flow file, the run (generation) and the cause.
type NodeError struct {
	Node string
	Type string
	Pos  graph.Pos
	// Generation is the number of runs the node completed before the
	// failed one; -1 when the node could not be created.
	Generation int
	Err        error
	// Stack is set when the node panicked.
	Stack string
	// Closing is set when the error came from the node's Close, after
	// the flow ended (see [registry.Closer]).
	Closing bool
}

func (e *NodeError) Error() string {
	if e.Closing {
		return fmt.Sprintf("%s: node %q (%s) failed to close: %v", e.Pos, e.Node, e.Type, e.Err)
	}
	if e.Generation < 0 {
		return fmt.Sprintf("%s: node %q (%s) could not be created: %v", e.Pos, e.Node, e.Type, e.Err)
	}
	return fmt.Sprintf("%s: node %q (%s) failed in run %d: %v", e.Pos, e.Node, e.Type, e.Generation+1, e.Err)
}

// Unwrap returns the cause.
func (e *NodeError) Unwrap() error { return e.Err }

// ErrInterrupted is the cause of runs stopped by [Runner.Interrupt],
// [Runner.Stop] or the caller's context; Run returns it when the flow was
// interrupted. It is registry.ErrInterrupted, which wraps
// registry.ErrCancelled.
var ErrInterrupted = registry.ErrInterrupted
