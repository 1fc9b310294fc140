package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/flowrun/flowrun/registry"
)

// Restreaming: a streaming run that has to stream again from its first
// chunk (the cluster package's producer whose worker died, rerun
// elsewhere, streaming something else) voids what it emitted so far, and
// every run reading it starts over on the new stream, so that no consumer
// completes a generation on a partial or mixed stream.
//
// What the run emitted is in its accumulators (whole values) and in one
// queue per stream edge. Restream gives each edge a new queue: a consumer
// that has not started binds it when it starts; one whose run reads the
// old queue is cancelled (errRestreamed) and, when its run returned,
// complete executes the same run again (same generation, not a retry) on
// the new queue. A restarted consumer that streams itself restreams its
// own readers in turn. What cannot be taken back fails the flow instead:
// a consumer that already completed a run on the old stream, one that
// has started reading another streaming producer's stream (those chunks
// are gone), and a stateful one (its run may have changed its state)
// unless its type declares registry.Spec.Restartable.

// errRestreamed is the cause of a run cancelled because the producer of a
// stream it reads streams again from its first chunk, and the error its
// reads of the old stream return.
var errRestreamed = registry.ErrRestarted

// Restream declares that everything the run emitted so far is void: the
// run streams again from its first chunk. An executor calls it from
// Execute, between two Emits, for a streaming node whose run it had to
// start over (its worker died) and that streams something else the
// second time. The run's whole values start empty again, and every run
// reading its streams restarts its generation on the new stream. It
// returns an error, which Execute should return, when a reader cannot be
// restarted (the error names it and says why).
//
// The engine logs one line for it, saying why ("it was run again and
// streamed something else" when why is empty), with the attributes node,
// generation, attrs (slog key-value pairs), chunks_forwarded (the chunks
// emitted before) and readers_restarted.
func (nr NodeRun) Restream(why string, attrs ...any) error {
	if nr.ru == nil {
		return errors.New("engine: Restream on a NodeRun the engine did not make")
	}
	return nr.ru.restream(why, attrs)
}

// restream implements Restream; it runs in the run's goroutine.
func (ru *run) restream(why string, attrs []any) error {
	r, ns := ru.r, ru.node
	if !ns.streams {
		return fmt.Errorf("node type %s does not stream: it cannot stream again", ns.n.Type)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ru.emitted == 0 {
		return nil
	}
	readers, err := r.restreamLocked(ru)
	if err != nil {
		return err
	}
	if why == "" {
		why = "it was run again and streamed something else"
	}
	r.log.Log(r.ctx, restartLevel(readers), fmt.Sprintf("node %q's generation %d streams again from its first chunk: %s; %s", ns.n.ID, ru.gen+1, why, restartedText(readers)),
		append(append([]any{"node", ns.n.ID, "generation", ru.gen + 1}, attrs...), "chunks_forwarded", ru.emitted, "readers_restarted", len(readers))...)
	r.events.restart(ru, nil)
	for i := range ru.acc {
		ru.acc[i] = registry.Accumulator{}
	}
	ru.emitted = 0
	clear(ru.emittedOn)
	clear(ru.set)
	clear(ru.finals)
	r.progress.Add(1)
	return nil
}

// restartLevel is the level of the log lines of a restart of readers:
// Debug when every one is Restartable, since such a node shows the
// restart itself (term.chat marks the partial answer; a log line would
// land in the middle of it on the terminal), Info otherwise. The event
// log records every restart either way.
func restartLevel(readers []*run) slog.Level {
	if len(readers) == 0 {
		return slog.LevelInfo
	}
	for _, rr := range readers {
		if !rr.node.n.Spec.Restartable {
			return slog.LevelInfo
		}
	}
	return slog.LevelDebug
}

// restartedText says which readers restart, for the log.
func restartedText(readers []*run) string {
	switch len(readers) {
	case 0:
		return "no reader had started"
	case 1:
		return fmt.Sprintf("restarting node %q's generation %d", readers[0].node.n.ID, readers[0].gen+1)
	}
	s := "restarting the generations of nodes"
	for i, rr := range readers {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(" %q (%d)", rr.node.n.ID, rr.gen+1)
	}
	return s
}

// restreamLocked gives every stream edge of ru a new queue and marks the
// runs reading the old ones for a restart; it returns those runs. It
// changes nothing when one cannot be restarted. Called with Runner.mu
// held, by ru's goroutine while ru does not emit.
func (r *Runner) restreamLocked(ru *run) ([]*run, error) {
	ns := ru.node
	var readers []*run
	stop := ru.stopper()
	for i := range ns.streamOut {
		for _, old := range ru.outQueues[i] {
			rr := old.reader
			if rr == nil || rr.restart || slices.Contains(readers, rr) {
				// A run reading several of ru's streams restarts once.
				continue
			}
			if err := restartable(rr, ns); err != nil {
				return nil, err
			}
			readers = append(readers, rr)
		}
	}
	for i, edges := range ns.streamOut {
		for j, e := range edges {
			old := ru.outQueues[i][j]
			q := newChunkQueue(streamBuffer, stop, r.maxValue)
			ru.outQueues[i][j] = q
			if e.q == old {
				e.q = q
			}
			if rr := old.reader; rr != nil && !rr.restart {
				rr.restart, rr.restartBy = true, ns
				rr.cancel(errRestreamed)
			}
			old.void()
		}
	}
	return readers, nil
}

// restartable says why run rr, which reads a stream of producer p, cannot
// start over on p's new stream, or returns nil. Called with Runner.mu
// held.
func restartable(rr *run, p *nodeState) error {
	c := rr.node
	if c.cur != rr {
		return fmt.Errorf("node %q was run again and streamed something else, but node %q already completed its generation %d on what it streamed first, and a completed generation cannot be taken back; make node %q give the same stream when run again, or have node %q read it to its end",
			p.n.ID, c.n.ID, rr.gen+1, p.n.ID, c.n.ID)
	}
	if c.n.Spec.Stateful && !c.n.Spec.Restartable {
		return fmt.Errorf("node %q was run again and streamed something else, but node %q, which reads it, keeps state across runs that its generation %d may have changed already, so it cannot start that generation over; place node %q with placement: local, or make it give the same stream when run again",
			p.n.ID, c.n.ID, rr.gen+1, p.n.ID)
	}
	for _, e := range c.inputs {
		if e.index < 0 || !e.stream || e.from == nil || !e.from.streams || e.from == p {
			continue
		}
		if q := rr.streams[e.index]; q != nil && q.started() {
			return fmt.Errorf("node %q was run again and streamed something else, but node %q, which reads it, has also read part of node %q's stream, which cannot be read again, so it cannot start its generation %d over; place node %q with placement: local, or make it give the same stream when run again",
				p.n.ID, c.n.ID, e.from.n.ID, rr.gen+1, p.n.ID)
		}
	}
	return nil
}

// started reports whether the consumer has started reading the queue.
func (q *chunkQueue) started() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.reading
}

// rerunLocked prepares run ru, marked for a restart by a restreaming
// producer, to be executed again: its stream inputs read the new streams
// from their first chunk, its outputs start empty, its own readers start
// over, and it has a new context. Called with Runner.mu held, once ru's
// Execute returned.
func (r *Runner) rerunLocked(ru *run) error {
	ns, by := ru.node, ru.restartBy
	ru.restart, ru.restartBy = false, nil
	ru.restarts++
	for _, e := range ns.inputs {
		if e.index < 0 {
			continue
		}
		q := ru.streams[e.index]
		switch {
		case q == nil:
		case q.kept:
			q.rewind()
		case e.q != q:
			// The restreamed producer's new queue.
			ru.streams[e.index] = e.q
			e.q.reader = ru
		case q.started():
			if err := restartable(ru, by); err != nil {
				return err
			}
		}
	}
	ru.cancel(nil)
	ru.newContext()
	var readers []*run
	if ns.streams {
		// Its new queues' cancel stops the new context.
		var err error
		if readers, err = r.restreamLocked(ru); err != nil {
			return err
		}
	}
	r.log.Log(r.ctx, restartLevel([]*run{ru}), fmt.Sprintf("restarting node %q's generation %d: node %q, whose stream it read, was run again and streamed something else", ns.n.ID, ru.gen+1, by.n.ID),
		"node", ns.n.ID, "generation", ru.gen+1, "producer", by.n.ID)
	if len(readers) > 0 {
		r.log.Log(r.ctx, restartLevel(readers), fmt.Sprintf("node %q's generation %d streams again from its first chunk: %s", ns.n.ID, ru.gen+1, restartedText(readers)), "node", ns.n.ID, "generation", ru.gen+1)
	}
	r.events.restart(ru, by)
	if ns.streams {
		for i := range ru.acc {
			ru.acc[i] = registry.Accumulator{}
		}
		clear(ru.emittedOn)
	}
	clear(ru.set)
	clear(ru.finals)
	ru.emitted, ru.misuse, ru.tooLarge = 0, nil, nil
	ru.reported, ru.failure, ru.stop, ru.done, ru.cut = false, nil, false, false, false
	ru.stopNote, ru.stopReason, ru.worker = "", "", ""
	ru.interrupted.Store(false)
	ru.consumerCancelled.Store(false)
	r.progress.Add(1)
	return nil
}
