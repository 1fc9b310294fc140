package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

type nodeImpl = registry.Node

// errStreamCancelled is the cause of a run stopped by a consumer.
var errStreamCancelled = errors.New("stream cancelled by a consumer")

// A run is one execution of a node. It is the node's registry.Inputs and
// registry.Outputs for that run.
type run struct {
	r    *Runner
	node *nodeState
	gen  int // completed runs of the node before this one

	ctx    context.Context
	cancel context.CancelCauseFunc // nil for nodes that neither stream nor read a stream

	// restart is set when a producer of a stream the run reads streams
	// again from its first chunk (restream.go): the run, cancelled, is
	// executed again on the new stream. Guarded by Runner.mu.
	restart   bool
	restartBy *nodeState
	// restarts counts the times the run started over (registry.Restarts).
	restarts int

	interrupted       atomic.Bool
	consumerCancelled atomic.Bool

	vals      []any
	streams   []*chunkQueue
	defaulted []bool
	outQueues [][]*chunkQueue

	set     []bool
	finals  []any
	acc     []registry.Accumulator
	emitted int
	// emittedOn says, per output, whether the run emitted a chunk on it.
	emittedOn []bool
	misuse    error // the node used an output it does not have
	// tooLarge is set when an output's accumulation grew past the limit:
	// the run fails with it, whatever the node did with Emit's error.
	tooLarge error

	// cut is set when the run ended only because an interrupt reached it
	// through a stream it read, or because the flow is ending: its values
	// are not passed on.
	cut bool

	reported bool  // failed under on_error: continue
	failure  error // that failure, for its stream consumers
	stop     bool  // the node asked to end the flow
	// stopNote is why, for the event log: the registry.StopError's
	// reason, else the error's text.
	stopNote   string
	stopReason string // the registry.StopError's reason, if any
	done       bool   // the node has nothing more to give: discard this run
	// worker names the worker process that ran it ([NodeRun.RanOn]).
	worker string
}

var (
	_ registry.Inputs    = (*run)(nil)
	_ registry.Outputs   = (*run)(nil)
	_ registry.Keyed     = (*run)(nil)
	_ registry.Restarted = (*run)(nil)
)

func newRun(r *Runner, ns *nodeState) *run {
	if ru := ns.spare; ru != nil {
		// A non-streaming node's last run is referenced by nothing once it
		// completed: reuse it rather than allocate.
		ns.spare = nil
		clear(ru.vals)
		clear(ru.streams)
		clear(ru.defaulted)
		clear(ru.set)
		clear(ru.finals)
		ru.gen, ru.ctx, ru.emitted, ru.misuse, ru.tooLarge = ns.gen, r.ctx, 0, nil, nil
		ru.restarts = 0
		ru.reported, ru.failure, ru.stop, ru.done, ru.cut = false, nil, false, false, false
		ru.stopNote, ru.stopReason, ru.worker = "", "", ""
		ru.interrupted.Store(false)
		if ru.cancel != nil {
			ru.newContext()
		}
		return ru
	}
	nIn, nOut := len(ns.n.Inputs), len(ns.final)
	ru := &run{
		r:         r,
		node:      ns,
		gen:       ns.gen,
		ctx:       r.ctx,
		vals:      make([]any, nIn),
		streams:   make([]*chunkQueue, nIn),
		defaulted: make([]bool, nIn),
		set:       make([]bool, nOut),
		finals:    make([]any, nOut),
	}
	if ns.streams || ns.n.Spec.Interruptible || ns.readsStream {
		ru.newContext()
	}
	if ns.streams {
		ru.outQueues = make([][]*chunkQueue, nOut)
		ru.acc = make([]registry.Accumulator, nOut)
		ru.emittedOn = make([]bool, nOut)
	}
	return ru
}

// newContext gives the run its own context, which an interrupt, a
// consumer's cancel or a restream cancels without ending the flow.
func (ru *run) newContext() {
	ru.ctx, ru.cancel = context.WithCancelCause(ru.r.ctx)
}

// stopper returns what a consumer cancelling one of the run's streams
// calls: it stops the run's current context (not the one of a later
// restart: restream.go). Called with Runner.mu held.
func (ru *run) stopper() func() {
	cancel := ru.cancel
	return func() {
		ru.consumerCancelled.Store(true)
		cancel(errStreamCancelled)
	}
}

// bind takes the value (or stream) of one input for this run. Called with
// Runner.mu held.
func (ru *run) bind(e *edge) {
	b, i := e.b, e.index
	var v any
	switch {
	case b.Kind == graph.Constant:
		v = b.Value
	case b.Kind == graph.Defaulted:
		v, ru.defaulted[i] = b.Value, true
	case e.seed > 0 && ru.gen == 0:
		// This run starts a cycle: the producer never produced.
		v, ru.defaulted[i] = b.Default, true
	case e.stream && e.from.streams:
		ru.streams[i] = e.q
		e.q.reader = ru
		return
	default:
		v = e.from.final[e.out]
		if e.stream {
			ru.streams[i] = valueQueue(v)
			return
		}
	}
	ru.vals[i] = v
	if b.Spec.Stream {
		ru.streams[i] = defaultStream(v)
	}
}

// defaultStream is what a stream input fed from a default or a constant
// reads: nothing for null, else the value as one chunk.
func defaultStream(v any) *chunkQueue {
	if v == nil {
		return valueQueue()
	}
	return valueQueue(v)
}

// Value implements registry.Inputs.
func (ru *run) Value(name string) any {
	if i, ok := ru.node.inputAt(name); ok {
		return ru.vals[i]
	}
	return nil
}

// Stream implements registry.Inputs.
func (ru *run) Stream(name string) registry.Stream {
	i, ok := ru.node.inputAt(name)
	if !ok {
		return valueQueue()
	}
	if q := ru.streams[i]; q != nil {
		return q
	}
	return defaultStream(ru.vals[i])
}

// Defaulted implements registry.Inputs.
func (ru *run) Defaulted(name string) bool {
	i, ok := ru.node.inputAt(name)
	return ok && ru.defaulted[i]
}

// Generation implements registry.Inputs.
func (ru *run) Generation() int { return ru.gen }

// IdempotencyKey implements registry.Keyed.
func (ru *run) IdempotencyKey() string {
	return ru.r.opts.RunID + "/" + ru.node.n.ID + "/" + strconv.Itoa(ru.gen)
}

// Restarts implements registry.Restarted.
func (ru *run) Restarts() int { return ru.restarts }

func (ru *run) output(name string) (int, bool) {
	if outs := ru.node.outputs; len(outs) == 1 && outs[0].Name == name {
		return 0, true
	}
	i, ok := ru.node.outputAt(name)
	if !ok && ru.misuse == nil {
		ru.misuse = fmt.Errorf("node type %s has no output %q", ru.node.n.Type, name)
	}
	return i, ok
}

// Set implements registry.Outputs.
func (ru *run) Set(name string, v any) {
	if i, ok := ru.output(name); ok {
		ru.set[i], ru.finals[i] = true, v
	}
}

// Emit implements registry.Outputs.
func (ru *run) Emit(_ context.Context, name string, chunk any) error {
	i, ok := ru.output(name)
	if !ok {
		return ru.misuse
	}
	if ru.acc == nil {
		return fmt.Errorf("node type %s does not stream: declare Streams in its Spec", ru.node.n.Type)
	}
	if ru.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", registry.ErrCancelled, context.Cause(ru.ctx))
	}
	if ru.node.need[i] {
		acc := &ru.acc[i]
		acc.Add(chunk)
		if acc.Size() > ru.r.maxValue {
			return ru.valueTooLarge(i)
		}
	}
	ru.emitted++
	ru.emittedOn[i] = true
	for j, q := range ru.outQueues[i] {
		if err := q.push(ru.ctx, chunk); err != nil {
			if err == errHeld {
				ru.tooLarge = &registry.ValueTooLargeError{Output: ru.node.outputs[i].Name, Limit: ru.r.maxValue,
					NeededBy: fmt.Sprintf("node %q, which has not started reading the stream", ru.node.streamOut[i][j].to.n.ID)}
				return ru.tooLarge
			}
			return fmt.Errorf("%w: %w", registry.ErrCancelled, err)
		}
	}
	ru.r.events.chunk(ru, i, chunk)
	ru.r.progress.Add(1)
	return nil
}

// valueTooLarge fails the run because output i's accumulation grew past
// the limit, and frees it.
func (ru *run) valueTooLarge(i int) error {
	if ru.tooLarge == nil {
		ru.tooLarge = &registry.ValueTooLargeError{Output: ru.node.outputs[i].Name, Limit: ru.r.maxValue, NeededBy: ru.r.neededBy(ru.node, i)}
	}
	ru.acc[i] = registry.Accumulator{} // the value is lost
	return ru.tooLarge
}

// Needed implements registry.Needed.
func (ru *run) Needed(name string) bool {
	i, ok := ru.node.outputAt(name)
	return ok && ru.node.need[i]
}

// cancelled reports whether this run (not the whole flow) was cancelled,
// by a consumer or an interrupt: then its end is a normal one.
func (ru *run) cancelled() bool {
	return ru.cancel != nil && ru.ctx.Err() != nil && ru.r.ctx.Err() == nil
}

// execute runs the node, with its retry policy, and classifies the
// outcome: nil for success, a cancelled run or a stop request; a
// *NodeError otherwise.
func (ru *run) execute() error {
	ns := ru.node
	r := ru.r
	debug := r.log.Enabled(ru.ctx, slog.LevelDebug)
	if debug {
		r.log.Debug("run start", "node", ns.n.ID, "generation", ru.gen+1)
	}
	attempts, delay := 1, time.Duration(0)
	if rt := ns.n.Retry; rt != nil && rt.Attempts > 1 {
		attempts, delay = rt.Attempts, rt.Delay
	}
	var err error
	var stack string
	for attempt := 1; ; attempt++ {
		stack, err = ru.call()
		if err == nil {
			err = ru.misuse
		}
		if ru.tooLarge != nil {
			err = ru.tooLarge
		}
		switch {
		case err == nil, ru.cancelled():
			// Done, or stopped by a consumer or an interrupt of its own:
			// its values are the ones it gives.
			return nil
		case errors.Is(err, registry.ErrCancelled) && r.ctx.Err() == nil:
			// Cut short because a stream it read was interrupted
			// upstream: an end, not a failure, but not a value either.
			ru.cut = true
			return nil
		case errors.Is(err, registry.ErrStop):
			ru.stop, ru.stopNote = true, err.Error()
			var se *registry.StopError
			if errors.As(err, &se) {
				ru.stopNote, ru.stopReason = se.Reason, se.Reason
			}
			return nil
		case errors.Is(err, registry.ErrDone):
			ru.done = true
			return nil
		case r.ctx.Err() != nil:
			// The flow is ending; this run's error is a consequence.
			ru.cut = true
			return nil
		}
		if attempt >= attempts || ru.emitted > 0 {
			break
		}
		r.log.Warn("run failed, retrying", "node", ns.n.ID, "generation", ru.gen+1, "attempt", attempt, "error", err)
		if registry.Sleep(ru.ctx, delay) != nil {
			return nil
		}
		delay = nextDelay(delay, ns.n.Retry.MaxDelay)
		clear(ru.set)
		clear(ru.finals)
	}
	nerr := &NodeError{Node: ns.n.ID, Type: ns.n.Type, Pos: ns.n.Pos, Generation: ru.gen, Err: err, Stack: stack}
	if ns.n.OnError == "continue" {
		ru.reported, ru.failure = true, nerr
		// Stream readers see the failure at the end of their stream and
		// report it themselves (term.chat prints one line); otherwise this
		// log line is where it shows.
		level := slog.LevelWarn
		if ru.outQueues != nil && slices.ContainsFunc(ru.outQueues, func(qs []*chunkQueue) bool { return len(qs) > 0 }) {
			level = slog.LevelDebug
		}
		r.log.Log(ru.ctx, level, "run failed; the flow goes on (on_error: continue)", "node", ns.n.ID, "generation", ru.gen+1, "error", err)
	}
	return nerr
}

// call invokes the node once, turning a panic into an error with stack.
func (ru *run) call() (stack string, err error) {
	defer func() {
		if p := recover(); p != nil {
			stack, err = string(debug.Stack()), panicError(p)
		}
	}()
	if ex := ru.r.opts.Executor; ex != nil {
		return "", ex.Execute(ru.ctx, NodeRun{Node: ru.node.n, Impl: ru.node.impl, Generation: ru.gen, In: ru, Out: ru, ru: ru})
	}
	return "", ru.node.impl.Run(ru.ctx, ru, ru)
}

func panicError(p any) error {
	if err, ok := p.(error); ok {
		return fmt.Errorf("panic: %w", err)
	}
	return fmt.Errorf("panic: %v", p)
}

// finish computes the run's final values and ends its streams. Called with
// Runner.mu held.
func (ru *run) finish(err error) {
	for i := range ru.finals {
		switch {
		case i == ru.node.errOut:
			ru.finals[i] = nil
			if ru.reported {
				var nerr *NodeError
				if errors.As(ru.failure, &nerr) {
					ru.finals[i] = nerr.Err.Error()
				}
			}
		case ru.reported:
			ru.finals[i] = nil
		case ru.set[i]:
		case ru.acc != nil && ru.acc[i].Len() > 0:
			ru.finals[i] = ru.acc[i].Value()
		}
	}
	var streamErr error
	switch {
	case ru.reported:
		streamErr = ru.failure
	case ru.interrupted.Load(), ru.cut:
		streamErr = registry.ErrInterrupted
	case err != nil:
		// The run failed and the flow stops: a reader must see the
		// failure, not a clean end, or it could complete on the part
		// of the stream it read.
		streamErr = err
	}
	for i, qs := range ru.outQueues {
		// An output the run only Set streams its value as one chunk, as a
		// non-streaming producer's would (null streams nothing, as a null
		// default does).
		only := streamErr == nil && ru.set[i] && ru.finals[i] != nil && !ru.emittedOn[i]
		for _, q := range qs {
			if only {
				q.closeWith(ru.finals[i], streamErr)
			} else {
				q.close(streamErr)
			}
		}
	}
	// A run stopped by its consumers stops its own producers in turn;
	// otherwise whatever it left unread is dropped.
	propagate := ru.consumerCancelled.Load() || ru.interrupted.Load()
	for _, q := range ru.streams {
		if q == nil {
			continue
		}
		if propagate {
			q.Cancel()
		} else {
			q.detach()
		}
	}
	if ru.cancel != nil {
		ru.cancel(nil)
	}
	ru.r.events.end(ru, err)
}

// nextDelay returns the delay before the retry after one that waited d:
// twice d, capped at max when max is positive (0 means no cap).
func nextDelay(d, max time.Duration) time.Duration {
	d *= 2
	if max > 0 {
		d = min(d, max)
	}
	return d
}
