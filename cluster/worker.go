package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"slices"
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
	opts  WorkerOptions
	log   *slog.Logger
	types []string
	sem   chan struct{}

	mu       sync.Mutex
	running  map[string]*workerRun // by run/node/gen/try
	executed atomic.Int64
	draining bool
	wg       sync.WaitGroup
	runsCtx  context.Context
	stopRuns context.CancelFunc
}

type workerRun struct {
	run    string
	cancel context.CancelCauseFunc
}

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
	if opts.ID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		opts.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if opts.Env.Getenv == nil {
		opts.Env.Getenv = registry.OSEnv()
	}
	w := &Worker{nc: nc, opts: opts, log: opts.Logger, running: map[string]*workerRun{}, sem: make(chan struct{}, opts.Concurrency)}
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
	if w.js, err = jetstream.New(nc); err != nil {
		return nil, err
	}
	if w.kv, err = ensureStreams(ctx, w.js); err != nil {
		return nil, err
	}
	return w, nil
}

// Executed returns how many node runs the worker ran.
func (w *Worker) Executed() int64 { return w.executed.Load() }

// Types returns the node types the worker serves.
func (w *Worker) Types() []string { return w.types }

// ID returns the worker's name.
func (w *Worker) ID() string { return w.opts.ID }

// Run serves node runs until ctx is done, then drains: it takes no more
// runs, hands back the ones it holds but has not started, and waits for
// the runs in flight. If hardStop is done too (a second signal), the runs
// in flight are cancelled and handed back for another worker.
func (w *Worker) Run(ctx, hardStop context.Context) error {
	w.runsCtx, w.stopRuns = context.WithCancel(context.WithoutCancel(ctx))
	defer w.stopRuns()
	cancelSub, err := w.nc.Subscribe(subjCancel+".*", w.onCancel)
	if err != nil {
		return err
	}
	defer cancelSub.Unsubscribe()
	var consumes []jetstream.ConsumeContext
	defer func() {
		for _, cc := range consumes {
			cc.Stop()
		}
	}()
	for _, typ := range w.types {
		cons, err := w.js.CreateOrUpdateConsumer(ctx, TasksStream, jetstream.ConsumerConfig{
			Durable:       consumerName(typ),
			FilterSubject: subjTask + ".*." + token(typ),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       w.opts.AckWait,
			MaxDeliver:    -1,
			MaxAckPending: 10_000,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return fmt.Errorf("consumer for %s: %w", typ, err)
		}
		cc, err := cons.Consume(w.onTask, jetstream.PullMaxMessages(w.opts.Concurrency))
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
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if err := announce(); err != nil && !w.nc.IsConnected() {
				w.log.Warn("cannot announce the worker: not connected to the NATS server")
			}
		}
	}
	// Drain: no new runs; the buffered ones go back (onTask naks them).
	w.mu.Lock()
	w.draining = true
	n := len(w.running)
	w.mu.Unlock()
	_ = w.kv.Delete(context.Background(), token(w.opts.ID))
	for _, cc := range consumes {
		cc.Stop()
	}
	if n > 0 {
		w.log.Info("draining: finishing the runs in flight", "runs", n)
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-hardStop.Done():
		w.stopRuns()
		<-done
	}
	return nil
}

// onCancel cancels the runs the coordinator cancelled: the message body
// is "*" for all of a flow run's node runs, else "node/gen/try".
func (w *Worker) onCancel(m *nats.Msg) {
	run := strings.TrimPrefix(m.Subject, subjCancel+".")
	what := string(m.Data)
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, r := range w.running {
		if r.run == run && (what == "*" || key == run+"/"+what) {
			r.cancel(errRunCancelled)
		}
	}
}

// onTask is called by a consumer for each task, one at a time per node
// type; it waits for a free slot, then runs the task in a goroutine.
func (w *Worker) onTask(m jetstream.Msg) {
	var t task
	if err := decodeJSON(m.Data(), &t); err != nil {
		_ = m.TermWithReason("undecodable task: " + err.Error())
		return
	}
	select {
	case w.sem <- struct{}{}:
	case <-w.runsCtx.Done():
		_ = m.Nak()
		return
	}
	w.mu.Lock()
	if w.draining {
		w.mu.Unlock()
		<-w.sem
		_ = m.Nak()
		return
	}
	ctx, cancel := context.WithCancelCause(w.runsCtx)
	key := fmt.Sprintf("%s/%s/%d/%d", t.Run, t.Node, t.Gen, t.Try)
	w.running[key] = &workerRun{run: t.Run, cancel: cancel}
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		defer func() {
			w.mu.Lock()
			delete(w.running, key)
			w.mu.Unlock()
			cancel(nil)
		}()
		w.execute(ctx, m, &t)
	}()
}

// execute runs one task: heartbeats while it runs, publishes the result,
// then acknowledges the task.
func (w *Worker) execute(ctx context.Context, m jetstream.Msg, t *task) {
	fixTask(t)
	hbDone := make(chan struct{})
	hbEnded := make(chan struct{})
	go func() {
		defer close(hbEnded)
		tick := time.NewTicker(w.opts.AckWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-hbDone:
				return
			case <-tick.C:
				_ = m.InProgress()
			}
		}
	}()
	start := time.Now()
	w.executed.Add(1)
	res := w.runNode(ctx, t)
	close(hbDone)
	<-hbEnded
	if cause := context.Cause(ctx); cause != nil && cause != errRunCancelled {
		// The worker is stopping hard: hand the run back at once.
		_ = m.Nak()
		return
	}
	if res.Kind == kindCancelled {
		_ = m.TermWithReason("run cancelled")
		return
	}
	data, _ := json.Marshal(res)
	subj := subjResult + "." + t.suffix()
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	if _, err := w.js.Publish(pctx, subj, data, jetstream.WithMsgID(t.msgID())); err != nil && !alreadyRecorded(err) {
		// Not recorded: leave the task unacknowledged; it comes back.
		w.log.Warn("cannot publish a result; the run will be redelivered", "node", t.Node, "generation", t.Gen+1, "error", err)
		return
	}
	if err := m.DoubleAck(pctx); err != nil {
		w.log.Debug("ack failed; the result is recorded, a redelivery will be deduplicated", "node", t.Node, "error", err)
	}
	w.log.Debug("run", "run_id", t.Run, "node", t.Node, "type", t.Type, "generation", t.Gen+1, "took", time.Since(start), "kind", res.Kind)
}

// fixTask turns the JSON numbers of a decoded task into int or float64.
func fixTask(t *task) {
	for k, v := range t.Params {
		t.Params[k] = fixNumbers(v)
	}
	for k, v := range t.Values {
		t.Values[k] = fixNumbers(v)
	}
	for k, vs := range t.Streams {
		for i := range vs {
			vs[i] = fixNumbers(vs[i])
		}
		t.Streams[k] = vs
	}
}

// runNode creates the node and runs it once.
func (w *Worker) runNode(ctx context.Context, t *task) (res result) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	res.Attempt, res.Worker = hex.EncodeToString(b[:]), w.opts.ID
	spec, ok := w.opts.Registry.Lookup(t.Type)
	if !ok || !slices.Contains(w.types, t.Type) {
		res.Kind, res.Error = kindFail, fmt.Sprintf("worker %s does not serve node type %s", w.opts.ID, t.Type)
		return res
	}
	cfg := registry.Config{ID: t.Node, Params: t.Params, Inputs: t.Inputs, Dir: t.Dir}
	node, err := safeNew(spec, cfg, w.opts.Env)
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
	err = safeRun(ctx, node, io)
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
	var se *registry.StopError
	switch {
	case err == nil:
	case context.Cause(ctx) == errRunCancelled:
		res.Kind = kindCancelled
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
}

func (io *remoteIO) Value(name string) any { return io.t.Values[name] }

func (io *remoteIO) Stream(name string) registry.Stream {
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
	return err
}

func (io *remoteIO) closeCredit() { _ = io.sub.Unsubscribe() }

// Emit implements registry.Outputs: it publishes the chunk once the
// coordinator has granted credit for it.
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
	data, err := json.Marshal(chunk{Attempt: io.attempt, Seq: io.sent, Output: name, Value: v})
	if err != nil {
		return err
	}
	if err := io.w.nc.Publish(subjChunk+"."+io.t.suffix(), data); err != nil {
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
