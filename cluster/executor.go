package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// Remotable says why a node type cannot run on a worker, or "" if it can
// (see graph.NotOnWorker).
func Remotable(spec *registry.Spec) string { return graph.NotOnWorker(spec) }

// Placement policies for nodes without a placement key.
const (
	// PlaceAuto puts the types that run programs or use the network on
	// workers and runs the rest in the coordinator.
	PlaceAuto = "auto"
	// PlaceWorkers puts every node that can run on a worker there.
	PlaceWorkers = "workers"
)

// OnWorker reports whether node n runs on a worker under policy (PlaceAuto
// or PlaceWorkers); a node's own placement key wins.
// A node that reads a stream from a streaming producer may run on a
// worker: the coordinator relays the chunks to it as they arrive, within
// a credit window (see relay.go).
func OnWorker(n *graph.Node, policy string) bool {
	if Remotable(n.Spec) != "" {
		return false
	}
	switch n.Placement {
	case graph.PlaceLocal:
		return false
	case graph.PlaceWorker:
		return true
	}
	if policy == PlaceWorkers {
		return true
	}
	return slices.Contains(n.Spec.Effects, registry.Exec) || slices.Contains(n.Spec.Effects, registry.Net)
}

// ExecutorOptions configure an Executor.
type ExecutorOptions struct {
	// Placement is PlaceAuto (the default) or PlaceWorkers.
	Placement string
	// Window is the credit window of streamed chunks (default 256), out
	// of workers and into them.
	Window int
	// ReplayLimit is how much of each stream read by a node on a worker
	// the coordinator keeps to restart the node's generation on another
	// worker if its worker dies (default DefaultReplayLimit bytes, as
	// registry.SizeOf counts them). Past it, losing that worker fails
	// the run.
	ReplayLimit int64
	// Logger receives the executor's diagnostics.
	Logger *slog.Logger
	// Dir is the directory of the flow file: nodes resolve relative
	// paths against it, on workers too (which must see the same files).
	Dir string
}

// An Executor ships node runs to workers; it implements engine.Executor.
// Nodes that stay local run in the calling goroutine.
type Executor struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	opts ExecutorOptions
	log  *slog.Logger
	run  string

	mu    sync.Mutex
	tries map[string]int // node/gen -> dispatches so far

	wmu     sync.Mutex
	resSub  *nats.Subscription
	waiting map[string]chan *nats.Msg // by subject suffix, see await

	lostOnce sync.Once
	lost     chan struct{}
	lostErr  error

	// rmu guards recheck (closed and replaced by Reconnected) and
	// results (the results stream, looked up on first use).
	rmu     sync.Mutex
	recheck chan struct{}
	results jetstream.Stream

	// cancels records the cancels in the cancel bucket (cancel.go).
	cancels cancelLog

	// Dispatched counts the node runs shipped to workers.
	dispatched int
}

// NewExecutor prepares an executor for one flow run on nc. Call
// LostConnection from nc's ClosedHandler, Reconnected from its
// ReconnectHandler, and Close when the run ended.
func NewExecutor(ctx context.Context, nc *nats.Conn, opts ExecutorOptions) (*Executor, error) {
	if opts.Placement == "" {
		opts.Placement = PlaceAuto
	}
	if opts.Window <= 0 {
		opts.Window = 256
	}
	if opts.ReplayLimit <= 0 {
		opts.ReplayLimit = DefaultReplayLimit
	}
	e := &Executor{nc: nc, opts: opts, log: opts.Logger, tries: map[string]int{}, waiting: map[string]chan *nats.Msg{}, lost: make(chan struct{}), recheck: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	e.run = hex.EncodeToString(b[:])
	var err error
	// A task whose queueing is not confirmed in time fails its run.
	if e.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(30*time.Second)); err != nil {
		return nil, err
	}
	if e.kv, err = ensureStreams(ctx, e.js); err != nil {
		return nil, err
	}
	if e.cancels.kv, err = ensureCancelBucket(ctx, e.js); err != nil {
		return nil, err
	}
	return e, nil
}

// RunID returns the id of the flow run in subjects and message ids.
func (e *Executor) RunID() string { return e.run }

// Dispatched returns how many node runs were shipped to workers.
func (e *Executor) Dispatched() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dispatched
}

// LostConnection makes every node run waiting on a worker fail with err.
func (e *Executor) LostConnection(err error) {
	e.lostOnce.Do(func() {
		e.lostErr = err
		close(e.lost)
	})
}

// Reconnected makes every node run waiting on a worker look its result
// up in the results stream: a result published while the connection was
// down never reached the coordinator's subscription, but it is stored.
// Cancels not yet recorded in the cancel bucket are put again.
func (e *Executor) Reconnected() {
	e.rmu.Lock()
	close(e.recheck)
	e.recheck = make(chan struct{})
	e.rmu.Unlock()
}

// recheckSignal returns the channel the next Reconnected closes.
func (e *Executor) recheckSignal() <-chan struct{} {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	return e.recheck
}

// resultRecheck is how often a node run waiting on a worker looks its
// result up in the results stream even without a reconnect: a safety net
// for a result its subscription missed otherwise (one published just
// before the subscription was renewed on a reconnect but stored just
// after the lookup, one dropped by a slow subscription).
const resultRecheck = 10 * time.Second

// storedResult returns the result of the run with subject suffix from
// the results stream, or nil when none is stored (yet) or the lookup
// failed.
func (e *Executor) storedResult(ctx context.Context, suffix string) *nats.Msg {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e.rmu.Lock()
	s := e.results
	e.rmu.Unlock()
	if s == nil {
		var err error
		if s, err = e.js.Stream(ctx, ResultsStream); err != nil {
			e.log.Debug("cannot look up the results stream", "error", err)
			return nil
		}
		e.rmu.Lock()
		e.results = s
		e.rmu.Unlock()
	}
	raw, err := s.GetLastMsgForSubject(ctx, subjResult+"."+suffix)
	if err != nil {
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			e.log.Debug("cannot look up a stored result", "subject", subjResult+"."+suffix, "error", err)
		}
		return nil
	}
	return &nats.Msg{Subject: raw.Subject, Data: raw.Data}
}

// RemoteTypes returns the node types of flow that run on workers, sorted.
func (e *Executor) RemoteTypes(flow *graph.Flow) []string {
	var types []string
	for _, n := range flow.Nodes {
		if OnWorker(n, e.opts.Placement) && !slices.Contains(types, n.Type) {
			types = append(types, n.Type)
		}
	}
	sort.Strings(types)
	return types
}

// WaitForWorkers returns once every node type of flow that runs on
// workers is served by a live worker, or an error naming the types no
// worker serves when wait passed first.
func (e *Executor) WaitForWorkers(ctx context.Context, flow *graph.Flow, wait time.Duration) error {
	need := e.RemoteTypes(flow)
	if len(need) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	watcher, err := e.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watching workers: %w", err)
	}
	defer watcher.Stop()
	served := map[string]map[string]bool{} // worker key -> types
	missing := func() []string {
		var out []string
		for _, typ := range need {
			ok := false
			for _, ts := range served {
				ok = ok || ts[typ]
			}
			if !ok {
				out = append(out, typ)
			}
		}
		return out
	}
	for {
		select {
		case entry := <-watcher.Updates():
			if entry == nil {
				// The initial values are in.
				if len(missing()) == 0 {
					return nil
				}
				continue
			}
			if entry.Operation() != jetstream.KeyValuePut {
				delete(served, entry.Key())
				continue
			}
			var wi workerInfo
			if json.Unmarshal(entry.Value(), &wi) == nil {
				ts := map[string]bool{}
				for _, t := range wi.Types {
					ts[t] = true
				}
				served[entry.Key()] = ts
			}
			if len(missing()) == 0 {
				return nil
			}
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				m := missing()
				return fmt.Errorf("no worker serves node type %s after waiting %v; start one with \"flowrun worker --nats URL\" (see docs/cluster.md), or run those nodes here with placement: local", strings.Join(m, ", "), wait)
			}
			return context.Cause(ctx)
		}
	}
}

// await registers a non-streaming run waiting for its result, by the
// suffix of its subjects. The results of all of the flow run's
// non-streaming runs come through one subscription (made on the first
// call), so that no subscription is made and removed per run.
func (e *Executor) await(suffix string) (chan *nats.Msg, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.resSub == nil {
		prefix := subjResult + "."
		sub, err := e.nc.Subscribe(prefix+e.run+".>", func(m *nats.Msg) {
			e.wmu.Lock()
			ch := e.waiting[strings.TrimPrefix(m.Subject, prefix)]
			e.wmu.Unlock()
			select {
			case ch <- m:
			default:
				// No run waits for it (a later result of a run already
				// applied), or one result is already there.
			}
		})
		if err != nil {
			return nil, err
		}
		e.resSub = sub
	}
	ch := make(chan *nats.Msg, 1)
	e.waiting[suffix] = ch
	return ch, nil
}

// unwait removes a run registered by await.
func (e *Executor) unwait(suffix string) {
	e.wmu.Lock()
	delete(e.waiting, suffix)
	e.wmu.Unlock()
}

// Close cancels what is left of the flow run on workers and removes its
// queued tasks and the state its stateful nodes kept on workers. The
// executor cannot run anything after.
//
// The cancel goes out as a core message (the fast path) and is recorded
// in the cancel bucket, which workers watch: a worker disconnected now
// learns it when it reconnects, and a task taken later is dropped. If
// the connection is down (reconnecting), Close waits up to
// closeFlushWait for it to come back; if it does not, or the connection
// is lost for good, the cancel is not recorded, Close says so, and the
// runs in flight on workers go on to their end (their results are
// ignored).
func (e *Executor) Close() error {
	e.wmu.Lock()
	if e.resSub != nil {
		_ = e.resSub.Unsubscribe()
	}
	e.wmu.Unlock()
	if e.nc.IsClosed() {
		e.flushCancels(0)
		return nil
	}
	_ = e.nc.Publish(subjCancel+"."+e.run, []byte("*"))
	e.recordCancel(cancelAllKey(e.run), "*")
	if left := e.flushCancels(closeFlushWait); len(left) > 0 {
		return fmt.Errorf("the cancel of flow run %s was not recorded in %s: %w; its node runs on workers go on to their end", e.run, CancelBucket, errCancelNotRecorded)
	}
	if !e.nc.IsConnected() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, TasksStream)
	if err != nil {
		return err
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(subjTask+"."+e.run+".>")); err != nil {
		return err
	}
	return purgeState(ctx, e.js, e.run)
}

// Execute implements engine.Executor.
func (e *Executor) Execute(ctx context.Context, nr engine.NodeRun) error {
	if !OnWorker(nr.Node, e.opts.Placement) {
		return engine.LocalExecutor{}.Execute(ctx, nr)
	}
	t, err := e.newTask(ctx, nr)
	if err != nil {
		return err
	}
	suffix := t.suffix()
	var ch chan *nats.Msg
	// subs are the chunk and result subscriptions of a streamed run's
	// tries (a try restarted keeps them: see abandoned).
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	subscribe := func() error {
		for _, subj := range []string{subjResult, subjChunk} {
			s, err := e.nc.ChanSubscribe(subj+"."+suffix, ch)
			if err != nil {
				return err
			}
			subs = append(subs, s)
		}
		return nil
	}
	if nr.Node.Spec.Streams {
		// Chunks and result on one channel, in the order they were sent.
		ch = make(chan *nats.Msg, 4*e.opts.Window+16)
		if err := subscribe(); err != nil {
			return e.connErr(err)
		}
	} else {
		if ch, err = e.await(suffix); err != nil {
			return e.connErr(err)
		}
		defer e.unwait(suffix)
	}
	data, err := json.Marshal(t.exact())
	if err != nil {
		return fmt.Errorf("the inputs cannot be sent to a worker: %w", err)
	}
	var relayFailed <-chan error
	var rl *relay
	if len(t.Live) > 0 {
		if rl, err = e.startRelay(ctx, t, nr); err != nil {
			return e.connErr(err)
		}
		defer rl.stop()
		relayFailed = rl.failed
	}
	// The task is queued without waiting here for the server's
	// acknowledgement (its PubAck): a failed or lost one shows on queued
	// below, and a run's result cannot come before its task is stored.
	// A PubAck lost with the connection (the task may be stored, or not)
	// is asked for again by publishing the task again with its message
	// id (see republish).
	var queued <-chan error
	var stored <-chan *jetstream.PubAck
	var seq uint64       // the task's stream sequence, once stored
	unconfirmed := false // the task's PubAck has not arrived
	republished := 0     // how often the task was published again
	send := func() error {
		msg := &nats.Msg{Subject: subjTask + "." + e.run + "." + token(t.Type), Data: data}
		f, err := e.js.PublishMsgAsync(msg, jetstream.WithMsgID(t.msgID()))
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return e.connErr(fmt.Errorf("queueing the run: %w", err))
		}
		queued, stored = f.Err(), f.Ok()
		return nil
	}
	publish := func() error {
		seq, unconfirmed, republished = 0, true, 0
		if err := send(); err != nil {
			return err
		}
		e.mu.Lock()
		e.dispatched++
		e.mu.Unlock()
		return nil
	}
	// republish publishes the task again with the same message id, when
	// its PubAck was lost (the connection dropped, or it timed out): the
	// TASKS stream deduplicates by message id (its Duplicates window, 2
	// minutes), so a task the server stored is not queued twice, and the
	// server answers with the original task's sequence. A task that
	// never reached the server is queued now.
	republish := func(why error) error {
		republished++
		if republished > maxRepublish {
			return e.connErr(fmt.Errorf("queueing the run: the NATS server did not confirm the task after %d tries: %w", republished, why))
		}
		e.log.Debug("publishing a task again: its acknowledgement was lost", "node", t.Node, "generation", t.Gen+1, "try", t.Try, "reason", why)
		return send()
	}
	if err := publish(); err != nil {
		return err
	}
	rs := &remoteStream{e: e, t: t, out: nr.Out, restream: nr.Restream}
	// A result comes on ch, or, when the subscription missed it, from the
	// results stream after a reconnect or a long wait. The first accepted
	// is applied and the others are dropped: all are results of this same
	// (node, generation, try), and the stream keeps the first one stored.
	recheck := e.recheckSignal()
	safety := time.NewTimer(resultRecheck)
	defer safety.Stop()
	restarts := 0
	// abandoned holds the tries restarted, by subject suffix, until a
	// chunk of theirs arrives: that try still streams, so its cancel is
	// sent once more, in case its worker missed the core message (it was
	// away then). The cancel's key is recorded, so a worker that takes
	// the try's task later drops it, and a worker that was away gets the
	// key from its watch: once is enough.
	abandoned := map[string]*task{}
	// restart abandons the current try of a streamed run whose chunks
	// were lost and dispatches a new try of the same generation: it
	// streams from the first chunk again, and rs checks the chunks
	// already forwarded against it by hash and forwards only the rest.
	restart := func(why string, logged bool) error {
		restarts++
		if savesState(nr.Node.Spec) {
			// The old try may have recorded its state already: a new
			// try would start from it.
			e.cancelRemote(t)
			return fmt.Errorf("%s, and a node that saves its state cannot be restarted without applying its run twice; run the flow again", why)
		}
		if restarts > maxStreamRestarts {
			e.cancelRemote(t)
			return fmt.Errorf("chunks streamed by the worker were lost %d times (%s); the coordinator's connection to the NATS server is unstable", restarts, why)
		}
		if !logged {
			e.log.Info("restarting a streamed run: chunks were lost", "node", t.Node, "generation", t.Gen+1, "try", t.Try, "reason", why)
		}
		// The old try stops where it runs, and leaves the queue if no
		// worker took it yet.
		e.cancelRemote(t)
		if seq != 0 {
			e.dropTask(seq)
		}
		abandoned[t.suffix()] = t
		t = e.nextTry(t)
		suffix = t.suffix()
		rs.restart(t)
		if err := subscribe(); err != nil {
			return e.connErr(err)
		}
		if rl != nil {
			if err := rl.retarget(t); err != nil {
				return e.connErr(err)
			}
		}
		if data, err = json.Marshal(t.exact()); err != nil {
			return err
		}
		return publish()
	}
	for {
		var m *nats.Msg
		select {
		case m = <-ch:
		case <-recheck:
			recheck = e.recheckSignal()
			m = e.storedResult(ctx, suffix)
			if nr.Node.Spec.Streams && !(m != nil && rs.acceptable(m.Data)) {
				// Chunks published while the connection was down are
				// lost: the try cannot complete any more.
				if err := restart("the coordinator reconnected", false); err != nil {
					return err
				}
				continue
			}
			if m == nil && unconfirmed {
				// The PubAck may have been lost with the connection.
				if err := republish(errors.New("the coordinator reconnected")); err != nil {
					return err
				}
			}
		case <-safety.C:
			safety.Reset(resultRecheck)
			m = e.storedResult(ctx, suffix)
			if m == nil && unconfirmed && queued == nil && e.nc.IsConnected() {
				// A lost PubAck whose reconnect went unnoticed (no
				// Reconnected call).
				if err := republish(errors.New("no acknowledgement")); err != nil {
					return err
				}
			}
		case err := <-queued:
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if !lostPubAck(err) {
				return e.connErr(fmt.Errorf("queueing the run: %w", err))
			}
			queued, stored = nil, nil
			// Published again now if the connection is up, else on the
			// reconnect (recheck above).
			if e.nc.IsConnected() {
				if err := republish(err); err != nil {
					return err
				}
			}
		case err := <-relayFailed:
			e.cancelRemote(t)
			return err
		case pa := <-stored:
			// A task published again has the original's sequence
			// (Duplicate set).
			queued, stored, seq, unconfirmed = nil, nil, pa.Sequence, false
		case <-ctx.Done():
			e.cancelRemote(t)
			return context.Cause(ctx)
		case <-e.lost:
			return e.lostErr
		}
		if m == nil {
			continue
		}
		if !strings.HasSuffix(m.Subject, "."+suffix) {
			// A message of a restarted try.
			k := strings.TrimPrefix(m.Subject, subjChunk+".")
			if old := abandoned[k]; old != nil {
				delete(abandoned, k)
				e.cancelRemote(old)
			}
			continue
		}
		if strings.HasPrefix(m.Subject, subjChunk+".") {
			err := rs.chunk(ctx, m.Data)
			switch {
			case errors.Is(err, errChunksLost):
				err = restart(err.Error(), false)
			case errors.Is(err, errDiverged):
				// The new attempt's first chunks were not kept: a new
				// try streams again, all of its chunks forwarded.
				why := err.Error()
				if err = nr.Restream(fmt.Sprintf("its run replacing a lost one streamed something else from chunk %d on, past what the coordinator keeps (ReplayLimit), so a new try streams it whole", rs.diverged), "chunk", rs.diverged); err == nil {
					rs.forwarded = rs.forwarded[:0]
					err = restart(why, true) // the engine logged why
				}
			}
			if err != nil {
				e.cancelRemote(t)
				return err
			}
			continue
		}
		var res result
		if err := decodeJSON(m.Data, &res); err != nil {
			return fmt.Errorf("undecodable result from a worker: %w", err)
		}
		if !rs.accept(&res) {
			continue
		}
		if rl != nil {
			rl.finish(res.Cancelled)
		}
		nr.RanOn(res.Worker)
		return applyResult(&res, nr.Out)
	}
}

// maxRepublish bounds how often one task is published again because its
// PubAck was lost.
const maxRepublish = 8

// lostPubAck reports whether a task's publish failed only because its
// PubAck did not arrive (the connection dropped, or it timed out): the
// task may or may not be stored.
func lostPubAck(err error) bool {
	return errors.Is(err, nats.ErrDisconnected) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, nats.ErrTimeout)
}

// dropTask deletes a task of a try that was restarted, when no worker
// took it yet.
func (e *Executor) dropTask(seq uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := e.js.Stream(ctx, TasksStream); err == nil {
		_ = s.DeleteMsg(ctx, seq)
	}
}

func (e *Executor) connErr(err error) error {
	select {
	case <-e.lost:
		return e.lostErr
	default:
	}
	return err
}

// cancelRemote tells the worker running t to stop, or the worker that
// takes t later to drop it: a core message, which a worker gets at once
// if both connections are up, and a key in the cancel bucket, which it
// gets in any case (cancel.go).
func (e *Executor) cancelRemote(t *task) {
	what := fmt.Sprintf("%s/%d/%d", t.Node, t.Gen, t.Try)
	_ = e.nc.Publish(subjCancel+"."+e.run, []byte(what))
	e.recordCancel(cancelKey(t.Run, t.Node, t.Gen, t.Try), what)
}

// newTask describes the run for a worker: its parameters and input
// values; stream inputs from streaming producers are relayed live (Live),
// other stream inputs are read (they have ended) and sent with the task.
func (e *Executor) newTask(ctx context.Context, nr engine.NodeRun) (*task, error) {
	n := nr.Node
	key := fmt.Sprintf("%s/%d", n.ID, nr.Generation)
	e.mu.Lock()
	try := e.tries[key]
	e.tries[key] = try + 1
	e.mu.Unlock()
	t := &task{Run: e.run, Node: n.ID, Type: n.Type, Gen: nr.Generation, Try: try, Params: n.Params, Window: e.opts.Window}
	t.Dir = e.opts.Dir
	for _, b := range n.Inputs {
		name := b.Name
		t.Inputs = append(t.Inputs, name)
		if nr.In.Defaulted(name) {
			t.Defaulted = append(t.Defaulted, name)
		}
		if liveInput(b) {
			t.Live = append(t.Live, name)
			continue
		}
		if b.Spec.Stream {
			s := nr.In.Stream(name)
			var chunks []any
			for {
				c, ok, err := s.Next(ctx)
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				chunks = append(chunks, c)
			}
			if t.Streams == nil {
				t.Streams = map[string][]any{}
			}
			t.Streams[name] = chunks
			continue
		}
		if v := nr.In.Value(name); v != nil {
			if t.Values == nil {
				t.Values = map[string]any{}
			}
			t.Values[name] = v
		}
	}
	return t, nil
}

// applyResult hands a worker's result to the engine.
func applyResult(res *result, out registry.Outputs) error {
	for name, v := range res.Outputs {
		out.Set(name, registry.FromJSONNumbers(v))
	}
	switch res.Kind {
	case kindOK:
		return nil
	case kindStop:
		if res.Error != "" {
			return &registry.StopError{Reason: res.Error}
		}
		return registry.ErrStop
	case kindDone:
		return registry.ErrDone
	case kindCancelled:
		return fmt.Errorf("%w: on the worker", registry.ErrCancelled)
	case kindCut:
		return fmt.Errorf("%w: %s", registry.ErrInterrupted, res.Error)
	}
	return errors.New(res.Error)
}

// remoteStream forwards a streamed run's chunks to the engine, in order,
// granting credit as it goes. When a worker dies mid-stream the run is
// redelivered and its new attempt streams from the first chunk again:
// the chunks already forwarded are checked against it (by hash) and
// skipped, so consumers see every chunk once.
//
// A new attempt that streams something else (llm.chat, any program whose
// output varies) makes the engine restart the generation of every reader
// of the run (engine.NodeRun.Restream), and the new attempt's chunks are
// forwarded from its first: rs keeps the chunks of a new attempt that
// match the ones forwarded (up to ExecutorOptions.ReplayLimit bytes), and
// forwards them then the rest once one differs. Past the limit it has not
// kept them: a divergence then makes Execute restream and dispatch a new
// try, whose chunks are all forwarded (errDiverged).
type remoteStream struct {
	e         *Executor
	t         *task
	out       registry.Outputs
	restream  func(why string, attrs ...any) error // engine.NodeRun.Restream
	forwarded []uint64                             // hashes of the chunks forwarded, in order
	attempt   string
	seen      int    // chunks of the current attempt
	lost      string // an attempt whose chunks were lost
	granted   int    // the last credit sent: seen when it was sent
	hash      hash.Hash64
	// kept holds the chunks of the current attempt that matched the
	// ones forwarded (a new attempt's), keptSize their size; overflow
	// says they grew past the limit and were dropped.
	kept     []rawChunk
	keptSize int64
	overflow bool
	diverged int // the chunk where the last new attempt diverged, from 1
}

func (rs *remoteStream) chunk(ctx context.Context, data []byte) error {
	var b chunkBatch
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("undecodable chunk from a worker: %w", err)
	}
	if b.Attempt != rs.attempt {
		if b.Seq != 0 {
			return nil // chunks of a superseded attempt
		}
		rs.attempt, rs.seen, rs.granted = b.Attempt, 0, 0
		rs.dropKept()
	}
	if rs.hash == nil {
		rs.hash = fnv.New64a()
	}
	if b.Attempt == rs.lost {
		return nil // chunks after a gap, the try is being restarted
	}
	for i, c := range b.Chunks {
		seq := b.Seq + i
		if seq < rs.seen {
			continue
		}
		if seq > rs.seen {
			// One publisher, one subscriber: core NATS keeps their
			// order, so the chunks in between are lost, not late.
			rs.lost = rs.attempt
			return fmt.Errorf("%w: chunk %d came after chunk %d", errChunksLost, seq+1, rs.seen)
		}
		rs.seen++
		rs.hash.Reset()
		rs.hash.Write([]byte(c.Output))
		rs.hash.Write(c.Value)
		sum := rs.hash.Sum64()
		if seq < len(rs.forwarded) {
			if rs.forwarded[seq] == sum {
				rs.keep(c)
				continue
			}
			// The new attempt streams something else: the readers
			// start over on it.
			rs.diverged = seq + 1
			if rs.overflow {
				rs.lost = rs.attempt
				return fmt.Errorf("%w at chunk %d", errDiverged, seq+1)
			}
			if err := rs.restream(fmt.Sprintf("its run replacing a lost one streamed something else from chunk %d on", seq+1), "chunk", seq+1); err != nil {
				return err
			}
			kept, sums := rs.kept, slices.Clone(rs.forwarded[:len(rs.kept)])
			rs.forwarded = rs.forwarded[:0]
			rs.dropKept()
			for i, k := range kept {
				if err := rs.emit(ctx, k, sums[i]); err != nil {
					return err
				}
			}
		}
		if rs.kept != nil {
			rs.dropKept()
		}
		if err := rs.emit(ctx, c, sum); err != nil {
			return err
		}
	}
	if rs.seen-rs.granted >= max(1, rs.t.Window/2) {
		rs.granted = rs.seen
		n, _ := json.Marshal(rs.seen)
		_ = rs.e.nc.Publish(subjCredit+"."+rs.t.suffix()+"."+rs.attempt, n)
	}
	return nil
}

// emit forwards a chunk to the engine and records its hash, sum.
func (rs *remoteStream) emit(ctx context.Context, c rawChunk, sum uint64) error {
	v, err := decodeValue(c.Value)
	if err != nil {
		return fmt.Errorf("undecodable chunk from a worker: %w", err)
	}
	if err := rs.out.Emit(ctx, c.Output, v); err != nil {
		return err
	}
	rs.forwarded = append(rs.forwarded, sum)
	return nil
}

// keep keeps a chunk of a new attempt that matched the one forwarded, in
// case a later one differs; past the replay limit, none is kept.
func (rs *remoteStream) keep(c rawChunk) {
	if rs.overflow {
		return
	}
	if rs.keptSize += int64(len(c.Output) + len(c.Value) + 16); rs.keptSize > rs.e.opts.ReplayLimit {
		rs.overflow, rs.kept = true, nil
		return
	}
	rs.kept = append(rs.kept, c)
}

// dropKept forgets the chunks kept for the current attempt.
func (rs *remoteStream) dropKept() {
	rs.kept, rs.keptSize, rs.overflow = nil, 0, false
}

// errChunksLost is returned by remoteStream.chunk when chunks of the
// current attempt never arrived.
var errChunksLost = errors.New("chunks streamed by the worker were lost")

// errDiverged is returned by remoteStream.chunk when a new attempt
// streams something else than the chunks forwarded and the ones it
// streamed before were not kept (past the replay limit).
var errDiverged = errors.New("the run replacing a lost one streamed something else, past what the coordinator keeps to forward it")

// maxStreamRestarts bounds how often one streamed run is restarted
// because its chunks were lost.
const maxStreamRestarts = 8

// restart makes rs expect the chunks of t, a new try of its run, from
// the first: they are checked against the chunks already forwarded.
func (rs *remoteStream) restart(t *task) {
	rs.t, rs.attempt, rs.lost, rs.seen, rs.granted = t, "", "", 0, 0
	rs.dropKept()
}

// acceptable reports whether data is a result rs accepts.
func (rs *remoteStream) acceptable(data []byte) bool {
	var res result
	return decodeJSON(data, &res) == nil && rs.accept(&res)
}

// nextTry returns a new try of t's node run: same generation and
// inputs, the next try number (its own subjects and message id).
func (e *Executor) nextTry(t *task) *task {
	key := fmt.Sprintf("%s/%d", t.Node, t.Gen)
	e.mu.Lock()
	try := e.tries[key]
	e.tries[key] = try + 1
	e.mu.Unlock()
	n := *t
	n.Try = try
	return &n
}

// accept reports whether res is the run's result: for a streamed run, the
// result of the attempt whose chunks were all forwarded, or a poison
// run's failure (no attempt of the run may end any more).
func (rs *remoteStream) accept(res *result) bool {
	if res.Kind == kindPoison || res.Chunks == 0 && len(rs.forwarded) == 0 {
		return true
	}
	return res.Attempt == rs.attempt && res.Chunks == rs.seen && rs.seen >= len(rs.forwarded)
}
