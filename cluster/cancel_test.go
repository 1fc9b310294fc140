package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/registry"
)

// holdHooks are the channels of test.hold nodes: each run says it
// started (its node id on started) and waits for its context to end,
// then says so (on cancelled) and waits for release before returning.
type holdHooks struct {
	started   chan string
	cancelled chan string
	release   chan struct{}
	once      sync.Once
	runs      sync.Map // node id -> *atomic.Int32
}

// unblock lets the runs waiting for release return. Tests defer it, so
// that a failed test does not leave its worker waiting for its runs.
func (h *holdHooks) unblock() { h.once.Do(func() { close(h.release) }) }

func newHoldHooks() *holdHooks {
	return &holdHooks{started: make(chan string, 8), cancelled: make(chan string, 8), release: make(chan struct{})}
}

func (h *holdHooks) register(reg *registry.Registry) {
	reg.MustRegister(registry.Spec{
		Type:    "test.hold",
		Doc:     "Says it started, waits until cancelled, says so, waits for the test.",
		Outputs: []registry.Output{{Name: "out"}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return nodeFunc(func(ctx context.Context, _ registry.Inputs, _ registry.Outputs) error {
				n, _ := h.runs.LoadOrStore(cfg.ID, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
				h.started <- cfg.ID
				<-ctx.Done()
				h.cancelled <- cfg.ID
				<-h.release
				return context.Cause(ctx)
			}), nil
		},
	})
}

// runs returns how many times node id started.
func (h *holdHooks) count(id string) int32 {
	n, ok := h.runs.Load(id)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// connWatch reports a connection's disconnects and reconnects.
type connWatch struct {
	disconnected, reconnected chan struct{}
}

func newConnWatch() *connWatch {
	return &connWatch{disconnected: make(chan struct{}, 4), reconnected: make(chan struct{}, 4)}
}

// options are the connection options that report to cw; onReconnect,
// when not nil, runs on each reconnect first.
func (cw *connWatch) options(onReconnect func()) []nats.Option {
	return []nats.Option{
		nats.MaxReconnects(-1), nats.ReconnectWait(10 * time.Millisecond), nats.ReconnectJitter(0, 0),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { cw.disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) {
			if onReconnect != nil {
				onReconnect()
			}
			cw.reconnected <- struct{}{}
		}),
	}
}

// startWorkerOn starts a worker serving reg on a connection to url made
// with opts; the returned function stops it and waits for its runs in
// flight (the test's cleanup calls it too).
func startWorkerOn(t *testing.T, reg *registry.Registry, url string, wopts cluster.WorkerOptions, opts ...nats.Option) (stop func()) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wopts.Registry = reg
	w, err := cluster.NewWorker(ctx, nc, wopts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx, ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			nc.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// storedResultCount returns how many results of flow run run the results
// stream holds.
func storedResultCount(t *testing.T, url, run string) int {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), cluster.ResultsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter("flowrun.result."+run+".>"))
	if err != nil {
		t.Fatal(err)
	}
	return len(info.State.Subjects)
}

const holdFlow = `version: 1
nodes:
  held: {type: test.hold, placement: worker}
`

// TestCancelWhileCoordinatorDisconnected: the coordinator cancels a run
// on a worker while its own connection is down, with publishing
// buffering off so that the core cancel message is surely lost. The
// cancel is recorded in the cancel bucket once the coordinator
// reconnects, and the worker's run stops. "try": the flow run's context
// is cancelled (a cancel of the run's try); "close": Close is called
// while the connection is down (a cancel of the whole flow run), and
// waits for the reconnect.
func TestCancelWhileCoordinatorDisconnected(t *testing.T) {
	for _, how := range []string{"try", "close"} {
		t.Run(how, func(t *testing.T) {
			url := server(t)
			reg := builtins(t)
			h := newHoldHooks()
			h.register(reg)
			defer h.unblock()
			startWorkerOn(t, reg, url, cluster.WorkerOptions{})

			proxy := startProxy(t, url[len("nats://"):])
			var exp atomic.Pointer[cluster.Executor]
			cw := newConnWatch()
			opts := append(cw.options(func() { exp.Load().Reconnected() }), nats.ReconnectBufSize(-1))
			nc, err := nats.Connect(proxy.url(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ex, err := cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			exp.Store(ex)
			flow := load(t, reg, holdFlow)
			if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := startRun(ctx, flow, ex)
			<-h.started
			// The task's acknowledgement was sent to the coordinator
			// before the task reached the worker: the flush's PONG comes
			// after it (an acknowledgement lost with the connection
			// fails the run).
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			proxy.cut()
			<-cw.disconnected
			closed := make(chan error, 1)
			if how == "try" {
				cancel()
				if o := <-done; !errors.Is(o.err, engine.ErrInterrupted) {
					t.Fatalf("run: %v, want interrupted", o.err)
				}
			} else {
				go func() { closed <- ex.Close() }()
			}
			select {
			case id := <-h.cancelled:
				t.Fatalf("%s was cancelled while the coordinator was disconnected: the test does not cut what it means to", id)
			default:
			}
			proxy.restore()
			select {
			case <-h.cancelled:
			case <-time.After(20 * time.Second):
				t.Fatal("the run on the worker was not cancelled 20 s after the coordinator reconnected")
			}
			h.unblock()
			if how == "try" {
				if err := ex.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := <-closed; err != nil {
					t.Fatalf("Close: %v, want the cancel recorded once reconnected", err)
				}
				cancel()
				<-done
			}
			if n := h.count("held"); n != 1 {
				t.Fatalf("held ran %d times, want 1", n)
			}
		})
	}
}

// TestCloseWhileDisconnectedSaysTheCancelIsNotRecorded: Close with the
// connection down for longer than it waits returns an error saying so.
func TestCloseWhileDisconnectedSaysTheCancelIsNotRecorded(t *testing.T) {
	url := server(t)
	proxy := startProxy(t, url[len("nats://"):])
	cw := newConnWatch()
	nc, err := nats.Connect(proxy.url(), cw.options(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ex, err := cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	<-cw.disconnected
	err = ex.Close()
	if err == nil || !strings.Contains(err.Error(), "was not recorded") || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("Close: %v, want an error saying the cancel was not recorded", err)
	}
}

// TestTaskTakenAfterCancelIsNotRun: a worker of concurrency 1 holds two
// tasks of one flow run, one running and one waiting for the runner.
// The flow run is cancelled (Close): the running one is cancelled, and
// the waiting one, taken after, is dropped without running (the core
// cancel found no run to cancel for it, and Close's purge of the queue
// cannot take back a task already delivered).
func TestTaskTakenAfterCancelIsNotRun(t *testing.T) {
	url := server(t)
	reg := builtins(t)
	h := newHoldHooks()
	h.register(reg)
	defer h.unblock()
	dropped := make(chan string, 4)
	logger := slog.New(&recordHandler{msg: "task of a cancelled run dropped", attr: "node", found: dropped})
	startWorkerOn(t, reg, url, cluster.WorkerOptions{Concurrency: 1, Logger: logger})
	ex, _ := newExecutor(t, url)
	flow := load(t, reg, `version: 1
nodes:
  a: {type: test.hold, placement: worker}
  b: {type: test.hold, placement: worker}
`)
	if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := startRun(ctx, flow, ex)
	first := <-h.started
	other := map[string]string{"a": "b", "b": "a"}[first]
	// Both tasks are delivered to the worker: the other waits for the
	// runner.
	waitFor(t, "both tasks delivered to the worker", func() bool {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		c, err := js.Consumer(t.Context(), cluster.TasksStream, "type_test_hold")
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumAckPending == 2
	})
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	// The worker knows the flow run is cancelled once it cancelled the
	// first run; the other is taken after.
	if id := <-h.cancelled; id != first {
		t.Fatalf("%s cancelled, want %s", id, first)
	}
	h.unblock()
	select {
	case id := <-dropped:
		if id != other {
			t.Fatalf("dropped %s, want %s", id, other)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s was not dropped 20 s after the cancel", other)
	}
	cancel()
	if o := <-done; !errors.Is(o.err, engine.ErrInterrupted) {
		t.Fatalf("run: %v, want interrupted", o.err)
	}
	if n := h.count(other); n != 0 {
		t.Fatalf("%s ran %d times after its flow run was cancelled, want 0", other, n)
	}
}

// waitFor polls cond every 10 ms until it holds; 20 s without fails the
// test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		<-tick.C
	}
}

// recordHandler sends the value of attribute attr of each log record
// whose message is msg to found.
type recordHandler struct {
	msg, attr string
	found     chan<- string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == h.attr {
			h.found <- a.Value.String()
			return false
		}
		return true
	})
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }
