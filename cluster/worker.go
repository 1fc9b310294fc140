package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/registry"
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Registry holds the node types the worker serves: every type in it
	// that may run on a worker ([Remotable]).
	Registry *registry.Registry
	// Types, when not empty, limits the served types to these.
	Types []string
	// Concurrency is how many node runs the worker runs at once (default 4).
	Concurrency int
	// AckWait is how long a run may go without the worker's heartbeat
	// before another worker gets it (default DefaultAckWait).
	AckWait time.Duration
	// MaxDeliveries is how many deliveries of a run may end without a
	// result (their workers died or stopped) before the run fails
	// (default DefaultMaxDeliveries): the worker handed the next delivery
	// does not run it, it reports the run as failed. Each worker applies
	// its own: give every worker the same.
	MaxDeliveries int
	// Env is handed to every node's constructor. A nil Env.Getenv means
	// the worker process's environment ([registry.OSEnv]).
	Env registry.Env
	// Logger receives one debug record per run; nil discards them.
	Logger *slog.Logger
	// ID names the worker in logs and results; empty means host-pid-random.
	ID string
}

// A Worker takes node runs from the task queue and runs them.
type Worker struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	state jetstream.KeyValue
	opts  WorkerOptions
	log   *slog.Logger
	types []string

	// cancels is the cancel bucket (cancel.go); cancelled (under mu)
	// holds the keys seen in it, with when they were seen.
	cancels   jetstream.KeyValue
	cancelled map[string]time.Time

	// attempts numbers the worker's run attempts; with attemptBase (random
	// per worker) it makes each attempt's id unique.
	attemptBase uint64
	attempts    atomic.Uint64

	mu       sync.Mutex
	running  map[string]*workerRun // by run/node/gen/try
	executed atomic.Int64
	// replays and stale count the redelivered runs of stateful nodes
	// whose state was already recorded: the recorded result was
	// published again, or the run was dropped as stale.
	replays, stale atomic.Int64
	// crash, when not nil (tests), is asked at the points of a stateful
	// run around the state write; true makes the worker behave as if it
	// died there: no result, no ack, no more heartbeats.
	crash    func(point string, t *task) bool
	liveIn   atomic.Int64
	draining bool
	runners  sync.WaitGroup
	runsCtx  context.Context
	stopRuns context.CancelFunc
}

type workerRun struct {
	run    string
	ckey   string // the run's key in the cancel bucket
	msg    jetstream.Msg
	cancel context.CancelCauseFunc
}

// pullHeartbeat is how often the server confirms a worker's pending pull
// request for a node type (see Run).
const pullHeartbeat = time.Second

// errRunCancelled is the cause of a node run the coordinator cancelled.
var errRunCancelled = errors.New("cancelled by the coordinator")

// NewWorker prepares a worker on connection nc; Run starts it.
func NewWorker(ctx context.Context, nc *nats.Conn, opts WorkerOptions) (*Worker, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.AckWait <= 0 {
		opts.AckWait = DefaultAckWait
	}
	if opts.MaxDeliveries <= 0 {
		opts.MaxDeliveries = DefaultMaxDeliveries
	}
	if opts.ID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		opts.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if opts.Env.Getenv == nil {
		opts.Env.Getenv = registry.OSEnv()
	}
	w := &Worker{nc: nc, opts: opts, log: opts.Logger, running: map[string]*workerRun{}, cancelled: map[string]time.Time{}}
	var b [8]byte
	_, _ = rand.Read(b[:])
	w.attemptBase = binary.LittleEndian.Uint64(b[:])
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, typ := range opts.Registry.Types() {
		spec, _ := opts.Registry.Lookup(typ)
		if Remotable(spec) != "" {
			continue
		}
		if len(opts.Types) > 0 && !slices.Contains(opts.Types, typ) {
			continue
		}
		w.types = append(w.types, typ)
	}
	for _, typ := range opts.Types {
		if !slices.Contains(w.types, typ) {
			spec, ok := opts.Registry.Lookup(typ)
			switch {
			case !ok:
				if reason, refused := opts.Registry.Refused(typ); refused {
					return nil, fmt.Errorf("--types %s: the type is refused: %s", typ, reason)
				}
				return nil, fmt.Errorf("--types %s: no such node type", typ)
			default:
				return nil, fmt.Errorf("--types %s: %s", typ, Remotable(spec))
			}
		}
	}
	if len(w.types) == 0 {
		return nil, errors.New("the worker serves no node type: --allow and --types left none")
	}
	var err error
	// A result's store is confirmed asynchronously (see finish); an
	// unconfirmed one fails after this long and the task is redelivered.
	if w.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second)); err != nil {
		return nil, err
	}
	if w.kv, err = ensureStreams(ctx, w.js); err != nil {
		return nil, err
	}
	if w.state, err = ensureStateBucket(ctx, w.js); err != nil {
		return nil, err
	}
	if w.cancels, err = ensureCancelBucket(ctx, w.js); err != nil {
		return nil, err
	}
	return w, nil
}

// Executed returns how many node runs the worker ran.
func (w *Worker) Executed() int64 { return w.executed.Load() }

// LiveStreams returns how many stream inputs the worker's runs read as
// they arrived, relayed by the coordinator from a streaming producer.
func (w *Worker) LiveStreams() int64 { return w.liveIn.Load() }

// Types returns the node types the worker serves.
func (w *Worker) Types() []string { return w.types }

// ID returns the worker's name.
func (w *Worker) ID() string { return w.opts.ID }

// Run serves node runs until ctx is done, then drains: it takes no more
// runs, hands back the ones it holds but has not started, and waits for
// the runs in flight. If hardStop is done too (a second signal), the runs
// in flight are cancelled and handed back for another worker.
//
// Each served type has one pull consumer; its tasks go to Concurrency
// long-lived goroutines shared by all types, which run them: no goroutine
// is started per run.
func (w *Worker) Run(ctx, hardStop context.Context) error {
	w.runsCtx, w.stopRuns = context.WithCancel(context.WithoutCancel(ctx))
	defer w.stopRuns()
	cancelSub, err := w.nc.Subscribe(subjCancel+".*", w.onCancel)
	if err != nil {
		return err
	}
	defer cancelSub.Unsubscribe()
	// The cancels recorded so far are known before the first task is
	// taken.
	cancels, err := w.watchCancels(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	defer cancels.close()
	tasks, quit := make(chan jetstream.Msg), make(chan struct{})
	for range w.opts.Concurrency {
		w.runners.Add(1)
		go w.serve(tasks, quit)
	}
	var consumes []jetstream.ConsumeContext
	stopped := false
	defer func() {
		if !stopped {
			w.stopRuns()
			for _, cc := range consumes {
				cc.Stop()
			}
			close(quit)
			w.runners.Wait()
		}
	}()
	onTask := func(m jetstream.Msg) { w.hand(tasks, quit, m) }
	for _, typ := range w.types {
		cons, err := w.js.CreateOrUpdateConsumer(ctx, TasksStream, jetstream.ConsumerConfig{
			Durable:       consumerName(typ),
			FilterSubject: subjTask + ".*." + token(typ),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       w.opts.AckWait,
			// No limit: the worker handed a run delivered more than
			// MaxDeliveries times reports it failed (poisoned), through
			// the results stream. A server-side limit would make the
			// server give up silently: its advisory is a core message,
			// lost by a coordinator reconnecting, and it needs a
			// permission on $JS.EVENT.>. Consumers that an earlier
			// version created with a limit are updated here.
			MaxDeliver:    -1,
			MaxAckPending: 10_000,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return fmt.Errorf("consumer for %s: %w", typ, err)
		}
		// A short heartbeat: the server sends one per pending pull
		// request every pullHeartbeat, and the client renews its pull
		// request after two missed ones. Under load, the server was seen
		// (BenchmarkDispatch, 1 in ~25,000 runs) to hold a task while
		// having no pull request of the worker's (consumer info: 1
		// pending, 0 waiting); with the default heartbeat (15 s) the task
		// then waited 30 s, now at most about 2 s.
		cc, err := cons.Consume(onTask, jetstream.PullMaxMessages(w.opts.Concurrency), jetstream.PullHeartbeat(pullHeartbeat))
		if err != nil {
			return fmt.Errorf("consuming %s: %w", typ, err)
		}
		consumes = append(consumes, cc)
	}
	info, _ := json.Marshal(workerInfo{ID: w.opts.ID, PID: os.Getpid(), Types: w.types})
	announce := func() error {
		_, err := w.kv.Put(context.Background(), token(w.opts.ID), info)
		return err
	}
	if err := announce(); err != nil {
		return fmt.Errorf("announcing the worker: %w", err)
	}
	w.log.Info("worker ready", "worker", w.opts.ID, "types", strings.Join(w.types, ","), "concurrency", w.opts.Concurrency)
	tick := time.NewTicker(workerTTL / 3)
	defer tick.Stop()
	// One heartbeat for all the runs in flight, every AckWait/3.
	beat := time.NewTicker(w.opts.AckWait / 3)
	defer beat.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-beat.C:
			w.heartbeat()
		case <-tick.C:
			if err := announce(); err != nil && !w.nc.IsConnected() {
				w.log.Warn("cannot announce the worker: not connected to the NATS server")
			}
			w.forgetCancels()
		}
	}
	// Drain: no new runs; the buffered ones are handed to the callback,
	// which sends them back (hand naks them).
	w.mu.Lock()
	w.draining = true
	n := len(w.running)
	w.mu.Unlock()
	if w.nc.IsConnected() {
		_ = w.kv.Delete(context.Background(), token(w.opts.ID))
		if n > 0 {
			w.log.Info("draining: finishing the runs in flight", "runs", n)
		}
	} else {
		// Nothing would reach the server: not the announcement's delete
		// (it expires by itself), not the naks, not the results of the
		// runs in flight, each of which would wait for its
		// acknowledgement's timeout. The server hands every task this
		// worker held to another worker after the ack wait, as it does
		// for a worker that died.
		w.stopRuns()
		w.log.Warn("the NATS server is unreachable: exiting without draining; the server hands the tasks this worker held back to the queue after the ack wait",
			"runs_cancelled", n, "ack_wait", w.opts.AckWait)
	}
	for _, cc := range consumes {
		cc.Drain()
	}
	stopped = true
	done := make(chan struct{})
	go func() {
		// The runners finish the runs in flight, then stop; a callback
		// still handing a task after that naks it.
		close(quit)
		w.runners.Wait()
		close(done)
	}()
	hard := hardStop.Done()
	for {
		select {
		case <-done:
			return nil
		case <-beat.C:
			w.heartbeat()
		case <-hard:
			w.stopRuns()
			hard = nil
		}
	}
}

// heartbeat tells the server that the runs in flight are alive, so that
// their tasks are not handed to another worker.
func (w *Worker) heartbeat() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.running {
		_ = r.msg.InProgress()
	}
}

// onCancel cancels the runs the coordinator cancelled: the message body
// is "*" for all of a flow run's node runs, else "node/gen/try". It is
// the fast path of what the cancel bucket delivers too (cancel.go).
func (w *Worker) onCancel(m *nats.Msg) {
	run := strings.TrimPrefix(m.Subject, subjCancel+".")
	what := string(m.Data)
	if what == "*" {
		w.cancelKey(cancelAllKey(run))
		return
	}
	// node/gen/try; a node id may hold '/'.
	i := strings.LastIndexByte(what, '/')
	if i < 0 {
		return
	}
	j := strings.LastIndexByte(what[:i], '/')
	gen, err1 := strconv.Atoi(what[j+1 : i])
	try, err2 := strconv.Atoi(what[i+1:])
	if j < 0 || err1 != nil || err2 != nil {
		return
	}
	w.cancelKey(cancelKey(run, what[:j], gen, try))
}

// hand gives a task to a free runner, or sends it back to the queue when
// the worker is draining or stopping. It is the consumers' callback: it
// blocks while every runner is busy, as the worker's concurrency wants,
// heartbeating the task meanwhile so that it is not delivered again
// (every delivery counts against MaxDeliveries, see poisoned).
func (w *Worker) hand(tasks chan<- jetstream.Msg, quit <-chan struct{}, m jetstream.Msg) {
	w.mu.Lock()
	draining := w.draining
	w.mu.Unlock()
	if draining {
		_ = m.Nak()
		return
	}
	select {
	case tasks <- m:
		return
	default:
	}
	beat := time.NewTicker(w.opts.AckWait / 3)
	defer beat.Stop()
	for {
		select {
		case tasks <- m:
			return
		case <-quit:
			_ = m.Nak()
			return
		case <-w.runsCtx.Done():
			_ = m.Nak()
			return
		case <-beat.C:
			_ = m.InProgress()
		}
	}
}

// serve runs the tasks it is handed until quit is closed.
func (w *Worker) serve(tasks <-chan jetstream.Msg, quit <-chan struct{}) {
	defer w.runners.Done()
	for {
		select {
		case m := <-tasks:
			w.take(m)
		case <-quit:
			return
		}
	}
}

// take runs one task, unless the worker started draining while the task
// waited for a runner: then the task goes back to the queue.
func (w *Worker) take(m jetstream.Msg) {
	var t task
	if err := decodeJSON(m.Data(), &t); err != nil {
		_ = m.TermWithReason("undecodable task: " + err.Error())
		return
	}
	w.mu.Lock()
	if w.draining || w.runsCtx.Err() != nil {
		w.mu.Unlock()
		_ = m.Nak()
		return
	}
	ckey := cancelKey(t.Run, t.Node, t.Gen, t.Try)
	if w.isCancelled(&t, ckey) {
		// Queued before the coordinator cancelled it, taken after.
		w.mu.Unlock()
		_ = m.TermWithReason("run cancelled")
		w.log.Debug("task of a cancelled run dropped", "run_id", t.Run, "node", t.Node, "generation", t.Gen+1, "try", t.Try)
		return
	}
	ctx, cancel := context.WithCancelCause(w.runsCtx)
	defer cancel(nil)
	key := t.Run + "/" + t.Node + "/" + strconv.Itoa(t.Gen) + "/" + strconv.Itoa(t.Try)
	w.running[key] = &workerRun{run: t.Run, ckey: ckey, msg: m, cancel: cancel}
	w.mu.Unlock()
	w.execute(ctx, m, &t, key)
}

// execute runs one task, publishes its result and acknowledges the task
// once the result is stored. The worker's heartbeat (see Run) keeps the
// task from being redelivered until then.
func (w *Worker) execute(ctx context.Context, m jetstream.Msg, t *task, key string) {
	fixTask(t)
	start := time.Now()
	// A stateful node's run starts from the state its previous run
	// recorded, and a redelivered run whose state is recorded is not run
	// again (see state.go).
	var st *stateRun
	var res result
	act := actRun
	if spec, ok := w.opts.Registry.Lookup(t.Type); ok && savesState(spec) {
		st, res, act = w.beforeStatefulRun(ctx, t)
	}
	poison := false
	if act == actRun {
		if n, ok := w.poisoned(m); ok {
			// Every earlier delivery's worker died or stopped before the
			// run ended: the run is not tried again, it fails. A stateful
			// node's record (below) keeps its state of before the run.
			poison = true
			res = result{Worker: w.opts.ID, Kind: kindPoison, Error: fmt.Sprintf(
				"the queue gave up on the run after delivering it %d times: each worker that took it died or stopped before it ended (flowrun worker --max-deliveries sets the count)", n)}
			w.log.Warn("poison run: not running it", "node", t.Node, "generation", t.Gen+1, "deliveries", n)
		} else {
			w.executed.Add(1)
			res = w.runNode(ctx, t, st)
		}
	}
	if cause := context.Cause(ctx); cause != nil && cause != errRunCancelled {
		// The worker is stopping hard: hand the run back at once.
		w.forget(key)
		_ = m.Nak()
		return
	}
	if res.Kind == kindCancelled {
		w.forget(key)
		_ = m.TermWithReason("run cancelled")
		return
	}
	if res.Kind == kindAborted {
		// The coordinator gave the task to another worker's attempt
		// (this one was presumed dead): the task is that delivery's now,
		// so neither the result nor an ack nor a nak is this one's.
		w.forget(key)
		w.log.Debug("run aborted: replaced by another attempt", "node", t.Node, "generation", t.Gen+1)
		return
	}
	if act == actRun && st != nil {
		if w.crashAt("before-state", t, key) {
			return
		}
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, act = w.afterStatefulRun(sctx, t, st, res)
		scancel()
		if act == actRun && w.crashAt("after-state", t, key) {
			return
		}
	}
	switch act {
	case actStale:
		// A later run of the node is recorded: this run's result was
		// applied long ago.
		w.forget(key)
		_ = m.Ack()
		w.log.Info("stale redelivery dropped: a later run of the node is recorded", "node", t.Node, "generation", t.Gen+1)
		return
	case actLater:
		// No more heartbeats: the task comes back after the ack wait.
		w.forget(key)
		return
	case actReplay:
		w.log.Info("redelivered run: its state is recorded, publishing its recorded result", "node", t.Node, "generation", t.Gen+1)
	}
	data, _ := json.Marshal(res.exact())
	w.finish(m, t, data, key, poison)
	w.log.Debug("run", "worker", w.opts.ID, "run_id", t.Run, "node", t.Node, "type", t.Type, "generation", t.Gen+1, "took", time.Since(start), "kind", res.Kind)
}

// poisoned reports whether m, a task, was delivered more than
// MaxDeliveries times before, each delivery ending without a result, and
// how many times.
func (w *Worker) poisoned(m jetstream.Msg) (int, bool) {
	md, err := m.Metadata()
	if err != nil {
		return 0, false
	}
	n := int(md.NumDelivered) - 1
	return n, n >= w.opts.MaxDeliveries
}

// finish publishes a result and acknowledges its task; a poison run's
// task is terminated instead (an ack that also announces it, with a
// reason, as $JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED): either way it
// leaves the work queue.
//
// The result goes to the results stream with the task's message id; the
// coordinator, subscribed to the result's subject, receives it as the
// server takes it in, before the store is confirmed. The task is
// acknowledged only once the store is confirmed (or the result was
// already stored by an earlier attempt), so a task whose result was not
// recorded is redelivered. The acknowledgement is a plain Ack, not a
// DoubleAck: if it were lost, the task would run again and its result
// would be refused as already recorded, and the coordinator applies one
// result per (node, generation, try) anyway; waiting for the server's
// confirmation would add a round trip per run and change nothing.
func (w *Worker) finish(m jetstream.Msg, t *task, data []byte, key string, poison bool) {
	defer w.forget(key)
	msg := &nats.Msg{Subject: subjResult + "." + t.suffix(), Data: data}
	f, err := w.js.PublishMsgAsync(msg, jetstream.WithMsgID(t.msgID()))
	if err == nil {
		select {
		case <-f.Ok():
		case err = <-f.Err():
		}
	}
	if err != nil && !alreadyRecorded(err) {
		// Not recorded: leave the task unacknowledged; it comes back.
		w.log.Warn("cannot publish a result; the run will be redelivered", "node", t.Node, "generation", t.Gen+1, "error", err)
		return
	}
	ack := m.Ack
	if poison {
		ack = func() error { return m.TermWithReason("poison run: delivered more than --max-deliveries times") }
	}
	if err := ack(); err != nil {
		w.log.Debug("ack failed; the result is recorded, a redelivery will be deduplicated", "node", t.Node, "error", err)
	}
}

// forget removes a run from the runs in flight: no more heartbeats for it.
func (w *Worker) forget(key string) {
	w.mu.Lock()
	delete(w.running, key)
	w.mu.Unlock()
}

// fixTask turns the JSON numbers of a decoded task into int or float64.
func fixTask(t *task) {
	for k, v := range t.Params {
		t.Params[k] = registry.FromJSONNumbers(v)
	}
	for k, v := range t.Values {
		t.Values[k] = registry.FromJSONNumbers(v)
	}
	for k, vs := range t.Streams {
		for i := range vs {
			vs[i] = registry.FromJSONNumbers(vs[i])
		}
		t.Streams[k] = vs
	}
}

// crashAt reports whether a test wants the worker to die at point. The
// run gets no heartbeats while the test decides (it may hold the run
// until the queue hands it to another worker), and none after a death.
func (w *Worker) crashAt(point string, t *task, key string) bool {
	if w.crash == nil {
		return false
	}
	w.mu.Lock()
	r := w.running[key]
	delete(w.running, key)
	w.mu.Unlock()
	if w.crash(point, t) {
		return true
	}
	w.mu.Lock()
	w.running[key] = r
	w.mu.Unlock()
	return false
}

// runNode creates the node and runs it once; st, when not nil, is the
// state to restore before the run and receives the state after it.
func (w *Worker) runNode(ctx context.Context, t *task, st *stateRun) (res result) {
	res.Attempt = strconv.FormatUint(w.attemptBase+w.attempts.Add(1), 36)
	res.Worker = w.opts.ID
	spec, ok := w.opts.Registry.Lookup(t.Type)
	if !ok || !slices.Contains(w.types, t.Type) {
		res.Kind, res.Error = kindFail, fmt.Sprintf("worker %s does not serve node type %s", w.opts.ID, t.Type)
		return res
	}
	cfg := registry.Config{ID: t.Node, Params: t.Params, Inputs: t.Inputs, Dir: t.Dir}
	node, err := safeNew(spec, cfg, w.opts.Env)
	if err == nil && st != nil {
		err = st.restore(node, t.Type)
	}
	if err != nil {
		res.Kind, res.Error = kindFail, err.Error()
		return res
	}
	io := &remoteIO{t: t, w: w, attempt: res.Attempt, outputs: map[string]any{}}
	if spec.Streams {
		if err := io.openCredit(); err != nil {
			res.Kind, res.Error = kindFail, err.Error()
			return res
		}
		defer io.closeCredit()
	}
	if len(t.Live) > 0 {
		defer io.closeLive()
		if err := io.openLive(); err != nil {
			res.Kind, res.Error = kindFail, err.Error()
			return res
		}
		w.liveIn.Add(int64(len(t.Live)))
	}
	err = safeRun(ctx, node, io)
	if io.out != nil {
		// Every chunk is published before the result.
		if cerr := io.out.close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if st != nil {
		if serr := st.save(node, t.Type); serr != nil && err == nil {
			err = serr
		}
	}
	if c, ok := node.(registry.Closer); ok {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if cerr := c.Close(cctx); cerr != nil && err == nil {
			err = cerr
		}
		cancel()
	}
	if io.err != nil && err == nil {
		err = io.err
	}
	res.Outputs, res.Chunks = io.outputs, io.sent
	for _, s := range io.live {
		if s.isCancelled() {
			res.Cancelled = append(res.Cancelled, s.name)
		}
	}
	var se *registry.StopError
	switch {
	case io.aborted():
		res.Kind = kindAborted
	case err == nil:
	case context.Cause(ctx) == errRunCancelled:
		res.Kind = kindCancelled
	case errors.Is(err, registry.ErrCancelled):
		// Cut short because a stream it read was interrupted upstream.
		res.Kind, res.Error = kindCut, err.Error()
	case errors.As(err, &se):
		res.Kind, res.Error = kindStop, se.Reason
	case errors.Is(err, registry.ErrStop):
		res.Kind = kindStop
	case errors.Is(err, registry.ErrDone):
		res.Kind = kindDone
	default:
		res.Kind, res.Error = kindFail, err.Error()
	}
	return res
}

func safeNew(spec *registry.Spec, cfg registry.Config, env registry.Env) (n registry.Node, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	n, err = spec.New(cfg, env)
	if err == nil && n == nil {
		err = errors.New("constructor returned no node")
	}
	return n, err
}

func safeRun(ctx context.Context, n registry.Node, io *remoteIO) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return n.Run(ctx, io, io)
}

// remoteIO is a worker-side run's registry.Inputs and registry.Outputs:
// inputs from the task, outputs collected for the result, chunks
// published to the coordinator within its credit window.
type remoteIO struct {
	t       *task
	w       *Worker
	attempt string
	outputs map[string]any
	err     error

	sent    int
	credit  chan int
	granted int
	sub     *nats.Subscription
	out     *outSender

	// live holds the stream inputs relayed by the coordinator (t.Live).
	live      []*liveStream
	liveSub   *nats.Subscription
	abortCh   chan struct{}
	abortOnce sync.Once
}

func (io *remoteIO) Value(name string) any { return io.t.Values[name] }

func (io *remoteIO) Stream(name string) registry.Stream {
	for _, s := range io.live {
		if s.name == name {
			return s
		}
	}
	if cs, ok := io.t.Streams[name]; ok {
		return &sliceStream{chunks: cs}
	}
	v := io.t.Values[name]
	if v == nil {
		return &sliceStream{}
	}
	return &sliceStream{chunks: []any{v}}
}

func (io *remoteIO) Defaulted(name string) bool { return slices.Contains(io.t.Defaulted, name) }

func (io *remoteIO) Generation() int { return io.t.Gen }

// IdempotencyKey implements registry.Keyed: the task's run/node/gen, the
// same on every worker the task is delivered to, and the same as the
// coordinator's for a run it keeps local.
func (io *remoteIO) IdempotencyKey() string { return io.t.key() }

func (io *remoteIO) Set(name string, v any) { io.outputs[name] = v }

// Needed implements registry.Needed: the coordinator decides what it
// keeps, so every output is produced.
func (io *remoteIO) Needed(string) bool { return true }

func (io *remoteIO) creditSubject() string {
	return subjCredit + "." + io.t.suffix() + "." + io.attempt
}

func (io *remoteIO) openCredit() error {
	io.credit = make(chan int, 64)
	io.granted = io.t.Window
	sub, err := io.w.nc.Subscribe(io.creditSubject(), func(m *nats.Msg) {
		var n int
		if json.Unmarshal(m.Data, &n) == nil {
			select {
			case io.credit <- n:
			default:
				// A newer grant follows; grants are cumulative.
			}
		}
	})
	io.sub = sub
	if err == nil {
		io.out = newOutSender(subjChunk+"."+io.t.suffix(), io.attempt)
		go io.out.run(io.w.nc.Publish)
	}
	return err
}

func (io *remoteIO) closeCredit() {
	if io.out != nil {
		_ = io.out.close()
	}
	_ = io.sub.Unsubscribe()
}

// Emit implements registry.Outputs: it queues the chunk for the sender
// (outstream.go) once the coordinator has granted credit for it.
func (io *remoteIO) Emit(ctx context.Context, name string, v any) error {
	if io.credit == nil {
		return fmt.Errorf("node type %s does not stream: declare Streams in its Spec", io.t.Type)
	}
	for io.sent >= io.granted {
		select {
		case n := <-io.credit:
			io.granted = max(io.granted, n+io.t.Window)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", registry.ErrCancelled, context.Cause(ctx))
		}
	}
	data, err := json.Marshal(registry.ExactNumbers(v))
	if err != nil {
		return err
	}
	if err := io.out.add(name, data); err != nil {
		return err
	}
	io.sent++
	return nil
}

// sliceStream is a stream input read from the task.
type sliceStream struct {
	chunks []any
	i      int
	done   bool
}

func (s *sliceStream) Next(ctx context.Context) (any, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if s.done || s.i >= len(s.chunks) {
		return nil, false, nil
	}
	s.i++
	return s.chunks[s.i-1], true, nil
}

func (s *sliceStream) Cancel() { s.done = true }

func (s *sliceStream) All(ctx context.Context) iter.Seq2[any, error] {
	return registry.StreamAll(ctx, s)
}
