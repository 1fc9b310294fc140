package engine

import (
	"fmt"
	"log/slog"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// The scheduler implements the generation rule that docs/execution.md
// ("Runs and generations", "Cycles") describes for users:
//
//   - gen is the number of runs a node completed.
//   - An input connected to producer P is fresh for node N when
//     P.gen + seed > N.gen, where seed is 1 for an input that N fed from
//     its default to start a cycle. A stream input from a streaming
//     producer counts P's run in progress, so it is fresh as soon as the
//     run started.
//   - N runs when it is demanded and all its connected inputs are fresh.
//     A demanded node with a stale input demands that input's producer
//     (pull), which is how everything upstream of a cycle re-runs once per
//     iteration.
//   - A node's run completing demands exactly the consumers for which the
//     connection became fresh; a streaming run starting does the same for
//     its stream consumers. Nobody is asked to run for data it already
//     consumed, so DAGs run every node once and nothing re-runs spuriously
//     (the rule of Flowno, whose model flowrun follows).
//   - A producer does not start a new run while a consumer has not yet
//     taken its previous one (one slot per connection). So every consumer
//     reads exactly the producer's run that matches its own generation, and
//     every node sees the same sequence of values on every run of the flow,
//     whatever the goroutines' timing.
//
// All of this state is guarded by Runner.mu and costs O(degree) per run:
// nothing depends on the number of past generations.

// A nodeState is the scheduler's view of one node.
type nodeState struct {
	n    *graph.Node
	impl nodeImpl

	inputs    []*edge // one per binding: n.Inputs then n.After
	consumers []*edge // connected and ordering edges leaving this node
	// streamOut lists, per output, the stream edges reading it (nil for a
	// node that does not stream).
	streamOut [][]*edge
	// inIndex and outIndex map names to positions in n.Inputs and
	// outputs for nodes with many of them only (see inputAt).
	inIndex  map[string]int
	outIndex map[string]int
	outputs  []registry.Output // the node's outputs (graph.Node.Outputs)
	errOut   int               // index of graph.ErrorOutput, or -1

	// need says, per output, whether something needs its whole value: a
	// value input connected to it, Result.Final or the event log. Only
	// then are its chunks accumulated.
	need []bool
	// known says, per output, whether final holds its value: it was
	// needed or set.
	known []bool

	spare *run // a completed run to reuse (non-streaming nodes)
	limit int
	gen   int
	final []any
	cur   *run

	streams bool
	// readsStream: an input reads the chunks of a streaming producer.
	readsStream bool
	running     bool
	demanded    bool
	queued      bool
	stopped     bool // reached its generation limit
	// everStarted is set by the node's first run (see Runner.startOrder).
	everStarted bool
}

// An edge is one binding of a node's input.
type edge struct {
	b      *graph.Binding
	index  int        // position in the consumer's inputs
	from   *nodeState // producer, for connected and ordering bindings
	to     *nodeState
	out    int
	seed   int
	stream bool // a stream input (reads chunks)
	// q is the queue of the producer's current (or last) run for this
	// stream edge, when the producer streams.
	q *chunkQueue
}

func newNodeState(n *graph.Node) *nodeState {
	outputs := n.Outputs()
	ns := &nodeState{
		n:       n,
		outputs: outputs,
		errOut:  -1,
		streams: n.Spec.Streams,
		final:   make([]any, len(outputs)),
	}
	if len(n.Inputs) > indexFrom {
		ns.inIndex = make(map[string]int, len(n.Inputs))
		for i, b := range n.Inputs {
			ns.inIndex[b.Name] = i
		}
	}
	if len(outputs) > indexFrom {
		ns.outIndex = make(map[string]int, len(outputs))
		for i, o := range outputs {
			ns.outIndex[o.Name] = i
		}
	}
	if len(outputs) > len(n.Spec.Outputs) {
		ns.errOut = len(outputs) - 1
	}
	if ns.streams {
		ns.streamOut = make([][]*edge, len(outputs))
	}
	return ns
}

// indexFrom is the number of inputs or outputs from which a node looks
// their names up in a map. Most nodes have a few, which a scan finds as
// fast, and two maps per node were most of a large flow's scheduler
// state (about 480 of 800 bytes per node).
const indexFrom = 8

// inputAt returns the position of the named input in n.Inputs.
func (ns *nodeState) inputAt(name string) (int, bool) {
	if ns.inIndex != nil {
		i, ok := ns.inIndex[name]
		return i, ok
	}
	for i, b := range ns.n.Inputs {
		if b.Name == name {
			return i, true
		}
	}
	return 0, false
}

// outputAt returns the position of the named output in outputs.
func (ns *nodeState) outputAt(name string) (int, bool) {
	if ns.outIndex != nil {
		i, ok := ns.outIndex[name]
		return i, ok
	}
	for i, o := range ns.outputs {
		if o.Name == name {
			return i, true
		}
	}
	return 0, false
}

// wire creates the node's input edges and registers them with their
// producers. nodes is indexed like Flow.Nodes.
func (ns *nodeState) wire(nodes []*nodeState) {
	add := func(b *graph.Binding, index int) {
		e := &edge{b: b, index: index, to: ns}
		if b.Kind == graph.Connected || b.Kind == graph.Ordering {
			e.from = nodes[b.From.Node.Index]
			e.out = b.From.Index
			e.stream = b.Kind == graph.Connected && b.Spec.Stream
			if b.Seeded {
				e.seed = 1
			}
			e.from.consumers = append(e.from.consumers, e)
			if e.stream && e.from.streams {
				e.from.streamOut[e.out] = append(e.from.streamOut[e.out], e)
				ns.readsStream = true
			}
		}
		ns.inputs = append(ns.inputs, e)
	}
	for i, b := range ns.n.Inputs {
		add(b, i)
	}
	for _, b := range ns.n.After {
		add(b, -1)
	}
}

// findNeeds decides which outputs' whole values are needed: all of them
// when all is set, else those a value input is connected to. Call it once
// every node is wired.
func (ns *nodeState) findNeeds(all bool) {
	n := len(ns.outputs)
	flags := make([]bool, 2*n)
	ns.need, ns.known = flags[:n:n], flags[n:]
	for i := range ns.need {
		ns.need[i] = all
	}
	for _, e := range ns.consumers {
		if e.valueOf() {
			ns.need[e.out] = true
		}
	}
	for i := range ns.need {
		ns.known[i] = ns.need[i] || !ns.streams
	}
}

// valueConsumer returns a node that takes one of ns's final values, or
// nil.
func (ns *nodeState) valueConsumer() *nodeState {
	for _, e := range ns.consumers {
		if e.valueOf() {
			return e.to
		}
	}
	return nil
}

// valueOf reports whether the edge takes its producer's final value (not
// an ordering, nor a stream reader of a streaming producer's chunks).
func (e *edge) valueOf() bool {
	return e.b.Kind == graph.Connected && !(e.stream && e.from.streams)
}

// neededBy says what needs output i's whole value, for the error of a
// value past the limit.
func (r *Runner) neededBy(ns *nodeState, i int) string {
	for _, e := range ns.consumers {
		if e.out == i && e.valueOf() {
			return fmt.Sprintf("node %q", e.to.n.ID)
		}
	}
	if r.opts.KeepFinals {
		return "the final values (--print-final)"
	}
	return "the event log (--events)"
}

// fresh reports whether the edge has data its consumer has not taken: a
// run the consumer has started counts as taken.
func (e *edge) fresh() bool {
	avail := e.from.gen
	if e.stream && e.from.streams && e.from.running {
		avail++
	}
	return avail+e.seed > e.to.started()
}

// started is the number of runs the node started.
func (ns *nodeState) started() int {
	if ns.running {
		return ns.gen + 1
	}
	return ns.gen
}

// demand asks the node to run and queues it for consideration.
func (r *Runner) demand(ns *nodeState) {
	ns.demanded = true
	r.enqueue(ns)
}

func (r *Runner) enqueue(ns *nodeState) {
	if !ns.queued {
		ns.queued = true
		r.work = append(r.work, ns)
	}
}

// drain considers every queued node and starts those that can run. It
// returns the first run started, for the caller to execute on its own
// goroutine, and starts the others on new goroutines.
func (r *Runner) drain() *run {
	var first *run
	for i := 0; i < len(r.work); i++ {
		ns := r.work[i]
		ns.queued = false
		if !r.canStart(ns) {
			continue
		}
		ru := r.start(ns)
		if first == nil {
			first = ru
			continue
		}
		r.wg.Add(1)
		go r.worker(ru)
	}
	clear(r.work)
	r.work = r.work[:0]
	return first
}

// canStart reports whether a demanded node can start a run now, and pulls
// the producers of its stale inputs.
func (r *Runner) canStart(ns *nodeState) bool {
	if !ns.demanded || ns.running || ns.stopped || r.stopping {
		return false
	}
	ok := true
	for _, e := range ns.inputs {
		if e.from == nil || e.fresh() {
			continue
		}
		ok = false
		if p := e.from; !p.running && !p.demanded && p != ns {
			r.demand(p)
		}
	}
	if !ok {
		return false
	}
	// One slot per connection: every consumer must have taken the
	// previous run. A consumer that reached its limit takes nothing more.
	for _, e := range ns.consumers {
		c := e.to
		if c != ns && !c.stopped && ns.gen+e.seed > c.started() {
			return false
		}
	}
	return true
}

// start begins a run of ns: it snapshots the inputs and, for a streaming
// node, opens a queue per stream consumer.
func (r *Runner) start(ns *nodeState) *run {
	ns.running, ns.demanded = true, false
	if !ns.everStarted {
		ns.everStarted = true
		r.startOrder = append(r.startOrder, ns)
	}
	r.running++
	ru := newRun(r, ns)
	ns.cur = ru
	for _, e := range ns.inputs {
		if e.index >= 0 {
			ru.bind(e)
		}
		// This node took its producers' runs: they may start the next.
		if p := e.from; p != nil && p.demanded && !p.running {
			r.enqueue(p)
		}
	}
	if ns.streams {
		stop := ru.stopper()
		for i, edges := range ns.streamOut {
			for _, e := range edges {
				e.q = newChunkQueue(streamBuffer, stop, r.maxValue)
				ru.outQueues[i] = append(ru.outQueues[i], e.q)
				if e.fresh() {
					r.demand(e.to)
				}
			}
		}
	}
	r.events.start(ru)
	r.progress.Add(1)
	return ru
}

// complete records the end of a run and starts what became runnable. It
// returns the next run for the calling goroutine to execute, or nil.
func (r *Runner) complete(ru *run, err error) *run {
	r.mu.Lock()
	defer r.mu.Unlock()
	ns := ru.node
	if ru.restart {
		// A producer of a stream it read streams again: the run starts
		// over on the new stream, in this goroutine, unless the flow is
		// ending.
		if r.stopping {
			ru.cut = true
		} else if rerr := r.rerunLocked(ru); rerr != nil {
			err = &NodeError{Node: ns.n.ID, Type: ns.n.Type, Pos: ns.n.Pos, Generation: ru.gen, Err: rerr}
			ru.reported = false
		} else {
			return ru
		}
	}
	ns.running = false
	ns.cur = nil
	r.running--
	r.progress.Add(1)
	ru.finish(err)
	if err != nil && !ru.reported {
		r.stopLocked(ReasonFailed, ns.n.ID, err)
		// Only completed runs count: Final and Generations keep the
		// node's last completed run (none, if the first run failed).
		return r.drain()
	}
	if ru.stop && !r.stopping {
		r.stopLocked(ReasonStopped, ns.n.ID, nil)
		r.stopReason = ru.stopReason
	}
	if ru.done {
		// The node has nothing more to give: the run does not count.
		ns.stopped = true
		r.log.Debug("node done", "node", ns.n.ID)
		return r.drain()
	}
	if ru.cut {
		if !r.stopping {
			if c := ns.valueConsumer(); c != nil {
				// Going on would hand it a cut value: stop instead.
				r.log.Info(fmt.Sprintf("interrupted: stopping the flow, since node %q would take a value of node %q that the interrupt cut short", c.n.ID, ns.n.ID))
				r.stopLocked(ReasonInterrupted, "", nil)
			}
		}
		if r.stopping {
			// The run does not count and its values are dropped.
			return r.drain()
		}
		// Its stream readers took the run: it counts, but its final
		// values stay those of its last complete run.
		copy(ru.finals, ns.final)
	}
	ns.gen++
	copy(ns.final, ru.finals)
	if ns.streams && !ru.cut {
		for i, set := range ru.set {
			ns.known[i] = ns.need[i] || set
		}
	}
	if r.log.Enabled(r.ctx, slog.LevelDebug) {
		r.log.Debug("run end", "node", ns.n.ID, "generation", ns.gen, "error", err)
	}
	for _, e := range ns.consumers {
		if e.fresh() {
			r.demand(e.to)
		}
	}
	if ns.n.Spec.Live {
		// A live source runs again as soon as its consumers took this run.
		ns.demanded = true
	}
	if ns.demanded {
		// Asked to run again while it was running.
		r.enqueue(ns)
	}
	if ns.limit > 0 && ns.gen >= ns.limit && !ns.stopped {
		ns.stopped = true
		r.limitNodes = append(r.limitNodes, ns)
		r.log.Debug("node reached its generation limit", "node", ns.n.ID, "limit", ns.limit)
	}
	if !ns.streams && !ns.stopped {
		// Kept for the node's next run; a node at its generation limit
		// has none, and a large flow would hold a run per node.
		ns.spare = ru
	}
	return r.drain()
}

// worker executes runs until none is left for this goroutine.
func (r *Runner) worker(ru *run) {
	defer r.wg.Done()
	for ru != nil {
		err := ru.execute()
		ru = r.complete(ru, err)
	}
}
