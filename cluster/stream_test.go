package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// streamHooks drive the test node types test.source and test.reader,
// shared by the coordinator and the workers (goroutines of the test).
type streamHooks struct {
	n int // chunks test.source emits: 0..n-1
	// srcBlockAfter / readerBlockAfter: the first attempt of the type
	// reports its worker on blocked after that many chunks and waits for
	// its context (its worker's death); 0 never.
	srcBlockAfter, readerBlockAfter int
	// srcVary: attempts after the first emit other chunks from chunk
	// varyFrom on: -i-1 instead of i.
	srcVary  bool
	varyFrom int
	// step, when not nil, paces test.reader: one receive per chunk; and
	// test.source waits after its first chunk until a reader read it
	// (firstRead), so that the stream is being read from then on.
	step      chan struct{}
	firstRead chan struct{}
	readOnce  sync.Once

	blocked      chan string
	srcAttempts  atomic.Int32
	readAttempts atomic.Int32
	emitted      atomic.Int64
	consumed     atomic.Int64
	// completed counts the reader attempts that read the whole stream,
	// in order; partial those that completed on less; varied those of
	// the completed that read the stream of a varied attempt.
	completed, partial, varied atomic.Int32
}

// nodeFunc is a registry.Node made of a function.
type nodeFunc func(ctx context.Context, in registry.Inputs, out registry.Outputs) error

func (f nodeFunc) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	return f(ctx, in, out)
}

func newHooks(n int) *streamHooks { return &streamHooks{n: n, blocked: make(chan string, 4)} }

// register adds the test types to reg; where names the process (a worker
// id or "coordinator").
func (h *streamHooks) register(reg *registry.Registry, where string) error {
	err := reg.Register(registry.Spec{
		Type:    "test.source",
		Doc:     "Emits 0..n-1.",
		Streams: true,
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return nodeFunc(func(ctx context.Context, _ registry.Inputs, out registry.Outputs) error {
				attempt := h.srcAttempts.Add(1)
				for i := range h.n {
					v := i
					if h.srcVary && attempt > 1 && i >= h.varyFrom {
						v = -i - 1
					}
					if err := out.Emit(ctx, "out", v); err != nil {
						return err
					}
					h.emitted.Add(1)
					if i == 0 && h.firstRead != nil {
						select {
						case <-h.firstRead:
						case <-ctx.Done():
							return context.Cause(ctx)
						}
					}
					if attempt == 1 && i+1 == h.srcBlockAfter {
						h.blocked <- where
						<-ctx.Done()
						return context.Cause(ctx)
					}
				}
				return nil
			}), nil
		},
	})
	if err != nil {
		return err
	}
	return reg.Register(registry.Spec{
		Type:    "test.reader",
		Doc:     "Reads its stream, checks it is 0..n-1 and outputs the count.",
		Inputs:  []registry.Input{{Name: "s", Stream: true}},
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return nodeFunc(func(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
				attempt := h.readAttempts.Add(1)
				s := in.Stream("s")
				i := 0
				varied := false // reading a varied attempt's stream
				for {
					if h.step != nil {
						select {
						case <-h.step:
						case <-ctx.Done():
							return context.Cause(ctx)
						}
					}
					c, ok, err := s.Next(ctx)
					if err != nil {
						return err
					}
					if !ok {
						break
					}
					want := i
					if h.srcVary && i >= h.varyFrom {
						if i == h.varyFrom {
							varied = c == any(-i-1)
						}
						if varied {
							want = -i - 1
						}
					}
					if c != any(want) {
						return fmt.Errorf("chunk %d is %v, want %d", i+1, c, want)
					}
					i++
					h.consumed.Add(1)
					if h.firstRead != nil {
						h.readOnce.Do(func() { close(h.firstRead) })
					}
					if attempt == 1 && i == h.readerBlockAfter {
						h.blocked <- where
						<-ctx.Done()
						return context.Cause(ctx)
					}
				}
				if i == h.n {
					h.completed.Add(1)
					if varied {
						h.varied.Add(1)
					}
				} else {
					h.partial.Add(1)
				}
				out.Set("out", i)
				return nil
			}), nil
		},
	})
}

// A killableWorker is a worker goroutine with its own connection, which the
// test can kill: the connection closes first (no heartbeat, no result,
// no ack from then on), then its runs are stopped.
type killableWorker struct {
	id   string
	w    *cluster.Worker
	nc   *nats.Conn
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

func (tw *killableWorker) kill() {
	tw.once.Do(func() {
		tw.nc.Close()
		tw.stop()
		<-tw.done
	})
}

// startWorkers starts n workers serving the built-in types and h's test
// types. The tests that kill a worker give a short ackWait, so that its
// runs move on quickly (too short a wait on a loaded machine makes the
// server hand live workers' runs to others too: correct, but slow).
func startWorkers(t *testing.T, url string, h *streamHooks, n int, ackWait time.Duration) map[string]*killableWorker {
	workers := map[string]*killableWorker{}
	for i := range n {
		id := fmt.Sprintf("w%d", i+1)
		reg := builtins(t)
		if err := h.register(reg, id); err != nil {
			t.Fatal(err)
		}
		workers[id] = startKillable(t, url, cluster.WorkerOptions{Registry: reg, ID: id, AckWait: ackWait})
	}
	return workers
}

// startKillable starts a killable worker on url; the test's cleanup
// kills it.
func startKillable(t *testing.T, url string, opts cluster.WorkerOptions) *killableWorker {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	w, err := cluster.NewWorker(ctx, nc, opts)
	if err != nil {
		stop()
		nc.Close()
		t.Fatal(err)
	}
	tw := &killableWorker{id: opts.ID, w: w, nc: nc, stop: stop, done: make(chan struct{})}
	go func() { defer close(tw.done); _ = w.Run(ctx, ctx) }()
	t.Cleanup(tw.kill)
	return tw
}

// coordinator returns an executor on its own connection and the flow
// loaded with the test types.
func coordinator(t *testing.T, url string, h *streamHooks, src string, opts cluster.ExecutorOptions) (*cluster.Executor, *graph.Flow) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ex, err := cluster.NewExecutor(t.Context(), nc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	reg := builtins(t)
	if err := h.register(reg, "coordinator"); err != nil {
		t.Fatal(err)
	}
	flow := load(t, reg, src)
	if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return ex, flow
}

func TestStreamIntoWorkerEveryChunkInOrder(t *testing.T) {
	url := server(t)
	h := newHooks(5000)
	workers := startWorkers(t, url, h, 2, 0)
	// The producer runs in the coordinator, a reader on each worker
	// (test.reader) and a built-in reader of a stream from a producer on
	// a worker (stream.collect reading a stream.map that reads the source).
	ex, flow := coordinator(t, url, h, `version: 1
nodes:
  src: {type: test.source, placement: local}
  r1: {type: test.reader, inputs: {s: src}, placement: worker}
  r2: {type: test.reader, inputs: {s: src}, placement: worker}
  twice: {type: stream.map, inputs: {s: src}, with: {expr: "chunk * 2"}, placement: worker}
  last: {type: stream.collect, inputs: {s: twice}, placement: worker}
`, cluster.ExecutorOptions{})
	res, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"r1", "r2"} {
		if got := res.Final[r]["out"]; got != h.n {
			t.Errorf("%s read %v chunks, want %d", r, got, h.n)
		}
	}
	last, _ := res.Final["last"]["out"].([]any)
	if len(last) != h.n || last[0] != 0 || last[h.n-1] != 2*(h.n-1) {
		t.Errorf("last collected %d chunks (%v ... %v), want %d", len(last), first(last), lastOf(last), h.n)
	}
	var live int64
	for _, w := range workers {
		live += w.w.LiveStreams()
	}
	if live != 4 {
		t.Errorf("the workers read %d streams as they arrived, want 4 (r1, r2, twice, last)", live)
	}
}

func first(s []any) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func lastOf(s []any) any {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

// TestStreamIntoWorkerBackpressure paces a reader one chunk at a time,
// on a worker reading a producer in the coordinator, and in the
// coordinator reading a producer on a worker: once the reader reads, the
// producer may never get further ahead than the buffers on the way (the
// engine's queue, the credit window), whatever the reader's pace. (Before a reader starts reading, the
// engine keeps its chunks for it, as it does locally.)
func TestStreamIntoWorkerBackpressure(t *testing.T) {
	for _, dir := range []struct{ name, src, reader string }{
		{"into", "local", "worker"},
		{"out_of", "worker", "local"},
	} {
		t.Run(dir.name, func(t *testing.T) { testBackpressure(t, dir.src, dir.reader) })
	}
}

func testBackpressure(t *testing.T, src, reader string) {
	const window = 16
	url := server(t)
	h := newHooks(100000)
	h.step, h.firstRead = make(chan struct{}), make(chan struct{})
	startWorkers(t, url, h, 1, 0)
	ex, flow := coordinator(t, url, h, fmt.Sprintf(`version: 1
nodes:
  src: {type: test.source, placement: %s}
  r: {type: test.reader, inputs: {s: src}, placement: %s}
`, src, reader), cluster.ExecutorOptions{Window: window})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := engine.Run(ctx, flow, engine.Options{Executor: ex}); done <- err }()
	// The engine's queue, a chunk blocked in it, the credit window.
	const bound = 128 + 1 + window
	for i := range 2000 {
		select {
		case h.step <- struct{}{}:
		case err := <-done:
			t.Fatalf("the run ended after %d chunks: %v", i, err)
		}
		if e, c := h.emitted.Load(), h.consumed.Load(); e > c+bound+1 {
			t.Fatalf("the producer emitted %d chunks while the reader had read %d: more than the window and buffers (%d) ahead", e, c, bound)
		}
	}
	// The reader's pace is the producer's: it has not run ahead to the end.
	if e := h.emitted.Load(); e >= int64(h.n) {
		t.Fatalf("the producer emitted all %d chunks while the reader read 2000", e)
	}
	cancel()
	if err := <-done; !errors.Is(err, engine.ErrInterrupted) && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// TestStreamIntoWorkerCancelStopsProducer: a reader on a worker that
// takes 3 chunks and cancels stops an endless producer in the
// coordinator and a pass-through on another worker (conformance case
// x02 with every reader on a worker).
func TestStreamIntoWorkerCancelStopsProducer(t *testing.T) {
	url := server(t)
	h := newHooks(0)
	startWorkers(t, url, h, 2, 0)
	ex, flow := coordinator(t, url, h, `version: 1
nodes:
  source: {type: stream.range, with: {start: 0, stop: 100000000}, placement: local}
  pass: {type: stream.map, inputs: {s: source}, placement: worker}
  take: {type: stream.take, inputs: {s: pass}, with: {n: 3}, placement: worker}
`, cluster.ExecutorOptions{})
	res, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Final["take"]["out"]); got != "[0 1 2]" {
		t.Fatalf("take: %s, want [0 1 2]", got)
	}
	if res.Generations["source"] != 1 || res.Generations["pass"] != 1 {
		t.Fatalf("runs %v, want source and pass once", res.Generations)
	}
}

// A runOutcome is how a flow run started by startRun ended.
type runOutcome struct {
	res *engine.Result
	err error
}

// startRun runs flow through ex in a goroutine and returns where its
// outcome arrives.
func startRun(ctx context.Context, flow *graph.Flow, ex *cluster.Executor) <-chan runOutcome {
	done := make(chan runOutcome, 1)
	go func() {
		res, err := engine.Run(ctx, flow, engine.Options{Executor: ex})
		done <- runOutcome{res, err}
	}()
	return done
}

// runKillingBlocked runs flow through ex, kills the worker whose node
// blocked on a hook of h as soon as one does, and returns the run's
// result. The run ending before any node blocked fails the test.
func runKillingBlocked(t *testing.T, ex *cluster.Executor, flow *graph.Flow, h *streamHooks, workers map[string]*killableWorker) (*engine.Result, error) {
	t.Helper()
	return runKillingBlockedLogged(t, ex, flow, h, workers, nil)
}

// runKillingBlockedLogged is runKillingBlocked with the engine's logger.
func runKillingBlockedLogged(t *testing.T, ex *cluster.Executor, flow *graph.Flow, h *streamHooks, workers map[string]*killableWorker, log *slog.Logger) (*engine.Result, error) {
	t.Helper()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex, Logger: log})
		done <- runOutcome{res, err}
	}()
	select {
	case victim := <-h.blocked:
		workers[victim].kill()
	case o := <-done:
		t.Fatalf("the run ended before a node blocked: %v", o.err)
	}
	o := <-done
	return o.res, o.err
}

// TestStreamingGenerationAtomicWhenReaderWorkerDies kills the worker of
// a reader mid-stream: its generation restarts whole on the other worker
// (from the first chunk), the producer runs once, and no reader
// completes on a partial or duplicated stream.
func TestStreamingGenerationAtomicWhenReaderWorkerDies(t *testing.T) {
	url := server(t)
	h := newHooks(3000)
	h.readerBlockAfter = 1000
	workers := startWorkers(t, url, h, 2, time.Second)
	ex, flow := coordinator(t, url, h, `version: 1
nodes:
  src: {type: test.source, placement: local}
  r: {type: test.reader, inputs: {s: src}, placement: worker}
  all: {type: stream.collect, inputs: {s: src}, placement: local}
`, cluster.ExecutorOptions{})
	res, err := runKillingBlocked(t, ex, flow, h, workers)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["r"]["out"]; got != h.n {
		t.Errorf("r read %v chunks, want %d", got, h.n)
	}
	if all, _ := res.Final["all"]["out"].([]any); len(all) != h.n {
		t.Errorf("the local reader collected %d chunks, want %d", len(all), h.n)
	}
	// A loaded machine may have the server hand a live worker's run to
	// another too; every attempt that completes must have read it all.
	if a := h.readAttempts.Load(); a < 2 {
		t.Errorf("the reader ran %d attempts, want 2 (killed, then whole on the other worker)", a)
	}
	if c, p := h.completed.Load(), h.partial.Load(); c < 1 || p != 0 {
		t.Errorf("%d reader attempts completed on the whole stream and %d on part of it, want 1 and 0", c, p)
	}
	if a := h.srcAttempts.Load(); a != 1 || res.Generations["src"] != 1 || res.Generations["r"] != 1 {
		t.Errorf("source attempts %d, runs %v: want one run each", a, res.Generations)
	}
	t.Logf("reader attempts %d", h.readAttempts.Load())
}

// TestStreamingGenerationAtomicWhenProducerWorkerDies kills the worker of
// a producer mid-stream while readers on workers read it: the producer
// runs again from its start on another worker, and every reader gets
// every chunk once, in order.
func TestStreamingGenerationAtomicWhenProducerWorkerDies(t *testing.T) {
	url := server(t)
	h := newHooks(3000)
	h.srcBlockAfter = 1000
	workers := startWorkers(t, url, h, 3, time.Second)
	ex, flow := coordinator(t, url, h, `version: 1
nodes:
  src: {type: test.source, placement: worker}
  r: {type: test.reader, inputs: {s: src}, placement: worker}
  all: {type: stream.collect, inputs: {s: src}, placement: local}
`, cluster.ExecutorOptions{})
	res, err := runKillingBlocked(t, ex, flow, h, workers)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["r"]["out"]; got != h.n {
		t.Errorf("r read %v chunks, want %d", got, h.n)
	}
	all, _ := res.Final["all"]["out"].([]any)
	if len(all) != h.n || all[h.n-1] != h.n-1 {
		t.Errorf("the local reader collected %d chunks (last %v), want %d", len(all), lastOf(all), h.n)
	}
	if a := h.srcAttempts.Load(); a < 2 {
		t.Errorf("the source ran %d attempts, want 2", a)
	}
	if c, p := h.completed.Load(), h.partial.Load(); c < 1 || p != 0 {
		t.Errorf("%d reader attempts completed on the whole stream and %d on part of it, want 1 and 0", c, p)
	}
	t.Logf("source attempts %d, reader attempts %d", h.srcAttempts.Load(), h.readAttempts.Load())
}

// TestStreamingProducerReplacedByDifferentStreamRestartsReaders kills
// the worker of a producer mid-stream; its run on another worker streams
// something else from chunk 501 on. Every reader starts its generation
// over on the new stream: a reader on a worker (through the relay), one
// in the coordinator, a whole-value consumer and the reader of a
// streaming reader on a worker complete on exactly the new stream, each
// chunk once and in order. With a replay limit too
// small to keep the new run's first chunks, a new try streams instead.
func TestStreamingProducerReplacedByDifferentStreamRestartsReaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
		tries int32 // source attempts at least
		// reader is the placement of r and twice: with the small
		// limit, a reader on the producer's worker, killed with it,
		// could not be restarted.
		reader string
	}{
		{"kept", 0, 2, "worker"},
		{"past_replay_limit", 100, 3, "local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := server(t)
			h := newHooks(3000)
			h.srcBlockAfter = 1000
			h.srcVary, h.varyFrom = true, 500
			// The reader on a worker has read the first chunk when the
			// producer's worker dies.
			h.firstRead = make(chan struct{})
			workers := startWorkers(t, url, h, 3, time.Second)
			// The coordinator's log: the executor's and the engine's.
			var logBuf syncBuffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			ex, flow := coordinator(t, url, h, `version: 1
nodes:
  src: {type: test.source, placement: worker}
  r: {type: test.reader, inputs: {s: src}, placement: `+tc.reader+`}
  all: {type: stream.collect, inputs: {s: src}, placement: local}
  whole: {type: value.identity, inputs: {x: src}, placement: local}
  twice: {type: stream.map, inputs: {s: src}, with: {expr: "chunk * 2"}, placement: `+tc.reader+`}
  last: {type: stream.collect, inputs: {s: twice}, placement: local}
`, cluster.ExecutorOptions{ReplayLimit: tc.limit, Logger: log})
			res, err := runKillingBlockedLogged(t, ex, flow, h, workers, log)
			if err != nil {
				t.Fatal(err)
			}
			// One line says the producer streams again, where it
			// diverged, and what it restarted.
			var restreams []string
			for _, l := range strings.Split(logBuf.String(), "\n") {
				if strings.Contains(l, "streamed something else") && !strings.Contains(l, "restarting node") {
					restreams = append(restreams, l)
				}
			}
			t.Logf("restream log:\n%s", strings.Join(restreams, "\n"))
			wantAttrs := []string{"level=INFO", `node=src`, "generation=1", fmt.Sprintf("chunk=%d", h.varyFrom+1), "chunks_forwarded=", "readers_restarted="}
			if len(restreams) != 1 || !containsAll(restreams[0], wantAttrs) {
				t.Errorf("log lines about the producer streaming something else:\n%s\nwant one, with %v", strings.Join(restreams, "\n"), wantAttrs)
			}
			want := make([]any, h.n)
			sum := 0
			for i := range want {
				v := i
				if i >= h.varyFrom {
					v = -i - 1
				}
				want[i], sum = v, sum+v
			}
			if got := res.Final["r"]["out"]; got != h.n {
				t.Errorf("r read %v chunks, want %d", got, h.n)
			}
			if c, p, v := h.completed.Load(), h.partial.Load(), h.varied.Load(); c < 1 || p != 0 || v != c {
				t.Errorf("%d reader attempts completed on the whole stream (%d on the new one) and %d on part of it, want all on the new one and none on part", c, v, p)
			}
			all, _ := res.Final["all"]["out"].([]any)
			if fmt.Sprint(all) != fmt.Sprint(want) {
				t.Errorf("the local reader collected %d chunks (%v ... %v), want the new stream's %d (%v ... %v)", len(all), first(all), lastOf(all), h.n, first(want), lastOf(want))
			}
			if got := res.Final["whole"]["out"]; got != sum {
				t.Errorf("the whole-value consumer got %v, want the new stream's %d", got, sum)
			}
			// A streaming reader on a worker restarts its own reader.
			doubled := make([]any, h.n)
			for i, v := range want {
				doubled[i] = 2 * v.(int)
			}
			last, _ := res.Final["last"]["out"].([]any)
			if fmt.Sprint(last) != fmt.Sprint(doubled) {
				t.Errorf("the reader of a streaming reader collected %d chunks (%v ... %v), want the new stream doubled", len(last), first(last), lastOf(last))
			}
			if a := h.srcAttempts.Load(); a < tc.tries {
				t.Errorf("the source ran %d attempts, want %d", a, tc.tries)
			}
			if g := res.Generations; g["src"] != 1 || g["r"] != 1 || g["all"] != 1 || g["whole"] != 1 || g["twice"] != 1 || g["last"] != 1 {
				t.Errorf("generations %v, want one each", g)
			}
			t.Logf("source attempts %d, reader attempts %d", h.srcAttempts.Load(), h.readAttempts.Load())
		})
	}
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
