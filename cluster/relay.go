package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// Streams into workers.
//
// A node placed on a worker that reads a stream from a streaming producer
// (in the coordinator or on another worker: either way its chunks reach
// the coordinator's engine first) gets the chunks through a relay in the
// coordinator's Execute: the relay reads the engine's stream only while
// the worker's attempt has credit, and sends what it read on
//
//	flowrun.in.<run>.<node>.<gen>.<try>.<attempt>   core: chunks, stream ends, abort
//	flowrun.incredit.<run>.<node>.<gen>.<try>       core: the attempt's credit and cancel
//
// The worker's attempt opens each stream input with a first grant of one
// window, and grants half a window more each time its node read half a
// window: the relay never has more than a window of chunks in flight, so
// core NATS never has a reason to drop one, and a slow node slows the
// engine's stream, hence its producer (the slowest reader governs).
// A node calling Cancel on the stream sends a cancel instead: the relay
// cancels the engine's stream, which stops the producer.
//
// A consumer's generation is atomic: the relay keeps the chunks it read
// (up to ExecutorOptions.ReplayLimit). When the worker dies, the task goes
// to another worker after the ack wait; its new attempt opens the
// streams again and the relay serves it from the first chunk, after
// telling the old attempt (should it still live) to abort: an aborted
// attempt publishes no result. Every attempt reads each stream from its
// start, in order, every chunk once, so no consumer's generation
// completes on a partial or duplicated stream.

const (
	subjIn       = "flowrun.in"
	subjInCredit = "flowrun.incredit"
)

// DefaultReplayLimit is how much (registry.SizeOf) of a stream the
// coordinator keeps per stream input of a node on a worker, to restart
// the node's generation whole on another worker when its worker dies.
const DefaultReplayLimit = 64 << 20

// maxBatch is the most chunks one message carries.
const maxBatch = 64

// An inMsg is what the coordinator sends a worker's attempt about its
// stream inputs: chunks Seq.. of input Input, the stream's end (with the
// producer's error), or an abort of the whole attempt.
type inMsg struct {
	Input       int    `json:"i"`
	Seq         int    `json:"s"`
	Chunks      []any  `json:"c,omitempty"`
	End         bool   `json:"e,omitempty"`
	Err         string `json:"err,omitempty"`
	Interrupted bool   `json:"int,omitempty"`
	Abort       bool   `json:"abort,omitempty"`
}

// An inCredit is what a worker's attempt sends about one of its stream
// inputs: the relay may send chunks up to (not including) Upto; Cancel
// asks for no more chunks and stops the producer.
type inCredit struct {
	Attempt string `json:"a"`
	Input   int    `json:"i"`
	Upto    int    `json:"g"`
	Cancel  bool   `json:"x,omitempty"`
}

// liveInput reports whether binding b reads a stream from a streaming
// producer: such an input is relayed to the worker as it arrives, rather
// than read to its end and sent with the task.
func liveInput(b *graph.Binding) bool {
	return b.Spec.Stream && b.Stream && b.From.Node != nil && b.From.Node.Spec.Streams
}

// A relay serves the stream inputs of one node run on a worker.
type relay struct {
	e      *Executor
	t      *task
	suffix string
	limit  int64
	sub    *nats.Subscription
	failed chan error
	wg     sync.WaitGroup

	mu       sync.Mutex
	attempt  string          // the attempt being served
	dead     map[string]bool // attempts superseded
	restarts int
	stopped  bool
	inputs   []*relayInput
}

// A relayInput is one stream input of a relay.
type relayInput struct {
	idx    int
	name   string
	s      registry.Stream
	ctx    context.Context
	cancel context.CancelFunc
	// wakeRead and wakeSend wake the input's reader and sender.
	wakeRead, wakeSend chan struct{}

	// log holds the chunks logBase..read-1 read from the engine: all of
	// them unless they grew past the limit, then only the ones not sent.
	// The reader reads ahead of the sender up to the attempt's credit.
	log     []any
	logBase int
	logSize int64
	read    int
	ended   bool
	endErr  error
	sent    int // chunks sent to the current attempt
	endSent bool
	granted int
	// cancelReq: the attempt cancelled the stream; cancelled: the
	// engine's stream was cancelled.
	cancelReq, cancelled bool
}

// startRelay subscribes to the credit of t's attempts and starts one
// goroutine per live input of nr; stop ends them.
func (e *Executor) startRelay(ctx context.Context, t *task, nr engine.NodeRun) (*relay, error) {
	r := &relay{e: e, t: t, suffix: t.suffix(), limit: e.opts.ReplayLimit, failed: make(chan error, 1), dead: map[string]bool{}}
	for i, name := range t.Live {
		ictx, cancel := context.WithCancel(ctx)
		r.inputs = append(r.inputs, &relayInput{idx: i, name: name, s: nr.In.Stream(name), ctx: ictx, cancel: cancel, wakeRead: make(chan struct{}, 1), wakeSend: make(chan struct{}, 1)})
	}
	sub, err := e.nc.Subscribe(subjInCredit+"."+r.suffix, r.onCredit)
	if err != nil {
		for _, in := range r.inputs {
			in.cancel()
		}
		return nil, err
	}
	r.sub = sub
	for _, in := range r.inputs {
		r.wg.Add(2)
		go r.read(in)
		go r.send(in)
	}
	return r, nil
}

// stop ends the relay's goroutines; the engine's streams are not read
// after it returns.
func (r *relay) stop() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	sub := r.sub
	r.mu.Unlock()
	_ = sub.Unsubscribe()
	for _, in := range r.inputs {
		in.cancel()
		wake(in.wakeRead)
		wake(in.wakeSend)
	}
	r.wg.Wait()
}

// finish stops the relay once the attempt's result is in, and cancels
// the engine's streams the attempt cancelled (its cancel messages may
// not have been handled yet): their producers stop, as they would for a
// local reader.
func (r *relay) finish(cancelled []string) {
	r.stop()
	for _, in := range r.inputs {
		if !in.cancelled && slices.Contains(cancelled, in.name) {
			in.cancelled = true
			in.s.Cancel()
		}
	}
}

// retarget makes the relay serve t, a new try of its node run, instead
// of the try it served: the new try's attempts read every stream from
// the first chunk again, out of the chunks kept (as for a new attempt).
func (r *relay) retarget(t *task) error {
	r.mu.Lock()
	if r.attempt != "" {
		r.dead[r.attempt] = true
	}
	r.t, r.suffix, r.attempt = t, t.suffix(), ""
	for _, in := range r.inputs {
		in.sent, in.granted, in.endSent = 0, 0, false
	}
	old := r.sub
	r.mu.Unlock()
	_ = old.Unsubscribe()
	sub, err := r.e.nc.Subscribe(subjInCredit+"."+t.suffix(), r.onCredit)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		_ = sub.Unsubscribe()
		return nil
	}
	r.sub = sub
	return nil
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// onCredit handles a grant or cancel from an attempt of the task; a new
// attempt (the task redelivered to another worker) supersedes the one
// served so far, which is told to abort.
func (r *relay) onCredit(m *nats.Msg) {
	var c inCredit
	if json.Unmarshal(m.Data, &c) != nil || c.Input < 0 || c.Input >= len(r.inputs) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.dead[c.Attempt] || m.Subject != subjInCredit+"."+r.suffix {
		return // stopped, or an attempt of a superseded try
	}
	if c.Attempt != r.attempt {
		if r.attempt != "" {
			r.dead[r.attempt] = true
			r.restarts++
			abort, _ := json.Marshal(inMsg{Abort: true})
			_ = r.e.nc.Publish(subjIn+"."+r.suffix+"."+r.attempt, abort)
			r.e.log.Warn("a worker reading a stream was replaced; its node's generation restarts from the first chunk", "node", r.t.Node, "generation", r.t.Gen+1)
		}
		r.attempt = c.Attempt
		for _, in := range r.inputs {
			in.sent, in.granted, in.endSent = 0, 0, false
			wake(in.wakeSend)
		}
	}
	in := r.inputs[c.Input]
	in.granted = max(in.granted, c.Upto)
	if c.Cancel && !in.cancelReq {
		in.cancelReq = true
		in.cancel() // a pending Next returns; read cancels the stream
	}
	wake(in.wakeRead)
	wake(in.wakeSend)
}

func (r *relay) fail(err error) {
	select {
	case r.failed <- err:
	default:
	}
}

// read reads input in's engine stream ahead of the sender, but never
// past the credit of the attempt served: the engine's stream (hence its
// producer) moves only as fast as the worker's node reads.
func (r *relay) read(in *relayInput) {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		switch {
		case r.stopped:
			r.mu.Unlock()
			return
		case in.cancelReq && !in.cancelled:
			// The stream ends here for this generation, whichever
			// attempt reads it.
			in.cancelled, in.ended, in.endErr = true, true, nil
			r.mu.Unlock()
			in.s.Cancel()
			wake(in.wakeSend)
			continue
		case r.attempt != "" && in.read < in.granted && !in.ended && !in.cancelReq:
			r.mu.Unlock()
			c, ok, err := in.s.Next(in.ctx)
			r.mu.Lock()
			switch {
			case in.ctx.Err() != nil && (err != nil || !ok):
				// Stopped or cancelled while waiting.
			case !ok:
				in.ended, in.endErr = true, err
			default:
				in.log = append(in.log, c)
				in.read++
				in.logSize += 16 + registry.SizeOf(c)
			}
			r.mu.Unlock()
			wake(in.wakeSend)
			continue
		}
		r.mu.Unlock()
		if in.ctx.Err() != nil {
			// Stopping, or the stream was cancelled: only stop wakes
			// the reader now.
			<-in.wakeRead
			continue
		}
		select {
		case <-in.wakeRead:
		case <-in.ctx.Done():
		}
	}
}

// send sends the chunks read and not sent yet to the attempt served, as
// many per message as there are (up to maxBatch), then the stream's end.
func (r *relay) send(in *relayInput) {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		switch {
		case r.attempt == "":
			// No attempt opened the stream yet.
		case in.sent < in.read && in.sent < in.granted:
			if in.sent < in.logBase {
				r.mu.Unlock()
				r.fail(fmt.Errorf("the worker reading stream input %q was lost after %d chunks, and the coordinator did not keep them to restart the run elsewhere (more than %d bytes); raise ExecutorOptions.ReplayLimit, or place the node with placement: local", in.name, in.sent, r.limit))
				return
			}
			end := min(in.read, in.granted, in.sent+maxBatch)
			msg := inMsg{Input: in.idx, Seq: in.sent, Chunks: registry.ExactNumbers(in.log[in.sent-in.logBase : end-in.logBase]).([]any)}
			if end == in.read && in.ended {
				msg.End, msg.Err, msg.Interrupted = true, endText(in.endErr), errors.Is(in.endErr, registry.ErrInterrupted)
				in.endSent = true
			}
			data, err := json.Marshal(msg)
			subj := subjIn + "." + r.suffix + "." + r.attempt
			in.sent = end
			if in.logSize > r.limit {
				// Too much to keep for a restart: keep what is not sent.
				in.log = append(in.log[:0], in.log[end-in.logBase:]...)
				in.logBase = end
			}
			r.mu.Unlock()
			if err != nil {
				r.fail(fmt.Errorf("stream input %q: a chunk cannot be sent to a worker: %w", in.name, err))
				return
			}
			_ = r.e.nc.Publish(subj, data)
			continue
		case in.ended && in.sent == in.read && !in.endSent:
			in.endSent = true
			msg := inMsg{Input: in.idx, Seq: in.sent, End: true, Err: endText(in.endErr), Interrupted: errors.Is(in.endErr, registry.ErrInterrupted)}
			data, _ := json.Marshal(msg)
			subj := subjIn + "." + r.suffix + "." + r.attempt
			r.mu.Unlock()
			_ = r.e.nc.Publish(subj, data)
			continue
		}
		r.mu.Unlock()
		<-in.wakeSend
	}
}

func endText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
