package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/flowrun/flowrun/registry"
)

// DefaultCloseTimeout is how long a node's Close may take when
// Options.CloseTimeout is 0.
const DefaultCloseTimeout = 10 * time.Second

// errCloseTimeout is the cause of the context given to Close once
// Options.CloseTimeout passed.
var errCloseTimeout = errors.New("closing the nodes took too long")

// closeOrder returns the nodes to close: those that never ran, then those
// that ran in the reverse order of their first run.
func (r *Runner) closeOrder() []*nodeState {
	order := make([]*nodeState, 0, len(r.nodes))
	for _, ns := range r.nodes {
		if ns.impl != nil && !ns.everStarted {
			order = append(order, ns)
		}
	}
	ran := slices.Clone(r.startOrder)
	slices.Reverse(ran)
	return append(order, ran...)
}

// closeNodes calls Close on every node that implements [registry.Closer],
// in closeOrder, each with a context that is not cancelled with the flow's
// but ends after Options.CloseTimeout. It returns the errors as *NodeError
// with Closing set, joined. A Close that does not return by its deadline
// is reported and left behind, so that the flow still ends.
func (r *Runner) closeNodes(parent context.Context, order []*nodeState) error {
	timeout := r.opts.CloseTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	var errs []error
	for _, ns := range order {
		c, ok := ns.impl.(registry.Closer)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(parent), timeout, errCloseTimeout)
		err, stack := closeNode(ctx, c)
		cancel()
		if err != nil {
			r.log.Error("close failed", "node", ns.n.ID, "error", err)
			errs = append(errs, &NodeError{Node: ns.n.ID, Type: ns.n.Type, Pos: ns.n.Pos, Generation: ns.gen, Closing: true, Err: err, Stack: stack})
		}
	}
	return errors.Join(errs...)
}

// closeNode calls c.Close on its own goroutine, so that a Close ignoring
// its context cannot keep the flow from ending, and turns a panic into an
// error with its stack.
func closeNode(ctx context.Context, c registry.Closer) (err error, stack string) {
	type result struct {
		err   error
		stack string
	}
	done := make(chan result, 1) // the goroutine never blocks, even when abandoned
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: panicError(p), stack: string(debug.Stack())}
			}
			done <- res
		}()
		res.err = c.Close(ctx)
	}()
	select {
	case res := <-done:
		return res.err, res.stack
	case <-ctx.Done():
		return fmt.Errorf("close did not return: %w", context.Cause(ctx)), ""
	}
}
