package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func builtins(t *testing.T) *registry.Registry {
	reg := registry.New()
	if err := registerBuiltins(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

func registerBuiltins(reg *registry.Registry) error { return builtin.Register(reg) }

func loadB(b *testing.B, src string) *graph.Flow {
	reg := registry.New()
	if err := registerBuiltins(reg); err != nil {
		b.Fatal(err)
	}
	flow, err := graph.Load("flow.yaml", []byte(src), reg, graph.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return flow
}

func load(t *testing.T, reg *registry.Registry, src string) *graph.Flow {
	flow, err := graph.Load("flow.yaml", []byte(src), reg, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return flow
}

// server starts an embedded server with its store in the test's
// temporary directory, on a random loopback port.
func server(t *testing.T) string {
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

const sleepFlow = `version: 1
nodes:
  slow:
    type: exec
    with:
      command: [sh, -c, 'echo started; exec sleep 30']
`

// newExecutor connects to url and returns an executor of a new flow run
// on that connection, which closes when the test ends.
func newExecutor(t *testing.T, url string) (*cluster.Executor, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ex, err := cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ex, nc
}

func TestNoWorkerForTypeFailsBeforeTheRun(t *testing.T) {
	url := server(t)
	ex, _ := newExecutor(t, url)
	err := ex.WaitForWorkers(t.Context(), load(t, builtins(t), sleepFlow), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no worker serves node type exec") {
		t.Fatalf("WaitForWorkers: %v, want an error naming exec", err)
	}
}

func TestNonLoopbackListenRequiresToken(t *testing.T) {
	_, err := cluster.StartServer(cluster.ServerOptions{Listen: "0.0.0.0:0", StoreDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("StartServer on 0.0.0.0 without a token: %v, want an error asking for --token", err)
	}
}

// runOnWorker starts a worker and a run of flow through it, and returns
// once the worker's node streamed its first chunk, with the run's result
// channel and the executor.
func runOnWorker(t *testing.T, url string, src string) (<-chan error, *cluster.Executor, context.CancelFunc) {
	reg := builtins(t)
	wctx, stopWorker := context.WithCancel(context.Background())
	wnc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	w, err := cluster.NewWorker(wctx, wnc, cluster.WorkerOptions{Registry: reg, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); _ = w.Run(wctx, wctx) }()
	t.Cleanup(func() { stopWorker(); <-workerDone; wnc.Close() })

	var ex *cluster.Executor
	nc, err := nats.Connect(url, nats.MaxReconnects(2), nats.ReconnectWait(50*time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { ex.LostConnection(errors.New("lost the NATS server")) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if ex, err = cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{}); err != nil {
		t.Fatal(err)
	}
	flow := load(t, reg, src)
	if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The worker's chunks travel on core subjects that anyone may read:
	// the first one says the program runs.
	chunks := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("flowrun.chunk.>", chunks)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() {
		_, err := engine.Run(ctx, flow, engine.Options{Executor: ex})
		res <- err
	}()
	select {
	case <-chunks:
	case err := <-res:
		t.Fatalf("the run ended before its first chunk: %v", err)
	}
	return res, ex, cancel
}

func TestCancelStopsTheRunOnTheWorker(t *testing.T) {
	url := server(t)
	res, ex, cancel := runOnWorker(t, url, sleepFlow)
	cancel()
	if err := <-res; !errors.Is(err, engine.ErrInterrupted) {
		t.Fatalf("run: %v, want interrupted", err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	// The worker's cleanup waits for its runs: it would hang 30 s if the
	// cancel had not reached the sleeping program.
}

func TestLostServerFailsTheRun(t *testing.T) {
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res, _, cancel := runOnWorker(t, ns.ClientURL(), sleepFlow)
	defer cancel()
	ns.Shutdown()
	ns.WaitForShutdown()
	err = <-res
	var nerr *engine.NodeError
	if !errors.As(err, &nerr) || nerr.Node != "slow" || !strings.Contains(err.Error(), "lost the NATS server") {
		t.Fatalf("run: %v, want node slow failing with the lost server", err)
	}
}
