package cluster_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// benchCluster starts a server and n workers (goroutines) serving the
// built-in types; the benchmark's cleanup stops them.
func benchCluster(b *testing.B, n, concurrency int) (*cluster.Executor, *natsserver.Server) {
	reg := registry.New()
	if err := registerBuiltins(reg); err != nil {
		b.Fatal(err)
	}
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	url := ns.ClientURL()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, n)
	var conns []*nats.Conn
	for range n {
		nc, err := nats.Connect(url)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, nc)
		w, err := cluster.NewWorker(ctx, nc, cluster.WorkerOptions{Registry: reg, Concurrency: concurrency, Env: registry.Env{Getenv: os.Getenv}})
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = w.Run(ctx, ctx); done <- struct{}{} }()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stop()
		for range n {
			<-done
		}
		for _, c := range conns {
			c.Close()
		}
		nc.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	ex, err := cluster.NewExecutor(b.Context(), nc, cluster.ExecutorOptions{Placement: cluster.PlaceWorkers})
	if err != nil {
		b.Fatal(err)
	}
	return ex, ns
}

// serverMsgs returns how many messages the server has received and sent.
func serverMsgs(b *testing.B, ns *natsserver.Server) int64 {
	v, err := ns.Varz(nil)
	if err != nil {
		b.Fatal(err)
	}
	return v.InMsgs + v.OutMsgs
}

// BenchmarkDispatch measures the cost of one node run shipped to a worker
// and back, on loopback: a cycle of two math.inc nodes, both on the
// worker, so every run is one round trip.
func BenchmarkDispatch(b *testing.B) {
	const gens = 200
	ex, ns := benchCluster(b, 1, 4)
	flow := loadB(b, `version: 1
nodes:
  a:
    type: math.inc
    inputs: {x: b}
    defaults: {x: 0}
  b:
    type: math.inc
    inputs: {x: a}
`)
	if err := ex.WaitForWorkers(b.Context(), flow, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	msgs, cpu := serverMsgs(b, ns), cpuTime(b)
	timed := &timedExecutor{ex: ex}
	for b.Loop() {
		res, err := engine.Run(b.Context(), flow, engine.Options{Executor: timed, NodeLimits: map[string]int{"a": gens}})
		if err != nil || res.Final["b"]["out"] != 2*gens {
			b.Fatalf("err %v, final %v", err, res.Final)
		}
	}
	runs := float64(b.N * 2 * gens)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/runs, "µs/run")
	// CPU time of the whole process (server, worker and coordinator are
	// all in it) per node run: what a run costs, less sensitive than the
	// wall time to the other processes sharing the machine.
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/runs, "cpu-µs/run")
	// Messages in and out of the server per node run (client protocol
	// messages and JetStream's internal ones): the structural cost.
	b.ReportMetric(float64(serverMsgs(b, ns)-msgs)/runs, "msgs/run")
	slices.Sort(timed.took)
	b.ReportMetric(float64(timed.took[len(timed.took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(timed.took[len(timed.took)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(timed.took[len(timed.took)-1].Microseconds()), "max-µs")
}

// BenchmarkDispatchStateful is BenchmarkDispatch with a stateful node in
// the cycle: every run of c (state.counter) on the worker also reads its
// state record from the KV bucket and writes it back by compare-and-set.
// Each flow run has its executor, closed after it (Close cancels the
// flow run on workers, removes its queued tasks and purges its state
// keys): Close's cost counts, NewExecutor's does not.
func BenchmarkDispatchStateful(b *testing.B) {
	const gens = 200
	ex, ns := benchCluster(b, 1, 4)
	flow := loadB(b, `version: 1
nodes:
  a:
    type: math.inc
    inputs: {x: c}
    defaults: {x: 0}
  c:
    type: state.counter
    after: [a]
`)
	if err := ex.WaitForWorkers(b.Context(), flow, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var setup int64 // messages of NewExecutor
	msgs, cpu := serverMsgs(b, ns), cpuTime(b)
	for b.Loop() {
		b.StopTimer()
		before := serverMsgs(b, ns)
		ex, err := cluster.NewExecutor(b.Context(), nc, cluster.ExecutorOptions{Placement: cluster.PlaceWorkers})
		if err != nil {
			b.Fatal(err)
		}
		setup += serverMsgs(b, ns) - before
		b.StartTimer()
		res, err := engine.Run(b.Context(), flow, engine.Options{Executor: ex, NodeLimits: map[string]int{"a": gens}})
		if err != nil || res.Final["c"]["out"] != gens {
			b.Fatalf("err %v, final %v", err, res.Final)
		}
		if err := ex.Close(); err != nil {
			b.Fatal(err)
		}
	}
	runs := float64(b.N * 2 * gens)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/runs, "µs/run")
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/runs, "cpu-µs/run")
	b.ReportMetric(float64(serverMsgs(b, ns)-msgs-setup)/runs, "msgs/run")
}

// BenchmarkClose measures Executor.Close for a flow run that cancelled
// nothing, with one worker watching the cancels: the cancel of the
// flow run (a core message and a key in the cancel bucket), the purge of
// its queued tasks and of its state keys.
func BenchmarkClose(b *testing.B) {
	_, ns := benchCluster(b, 1, 4)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var msgs int64
	for b.Loop() {
		b.StopTimer()
		ex, err := cluster.NewExecutor(b.Context(), nc, cluster.ExecutorOptions{})
		if err != nil {
			b.Fatal(err)
		}
		before := serverMsgs(b, ns)
		b.StartTimer()
		if err := ex.Close(); err != nil {
			b.Fatal(err)
		}
		msgs += serverMsgs(b, ns) - before
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/close")
}

// cpuTime returns the user and system CPU time of this process.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timedExecutor records how long each node run took through ex. The
// engine calls it from one goroutine at a time in BenchmarkDispatch's
// cycle, so took needs no lock.
type timedExecutor struct {
	ex   engine.Executor
	took []time.Duration
}

func (t *timedExecutor) Execute(ctx context.Context, nr engine.NodeRun) error {
	start := time.Now()
	err := t.ex.Execute(ctx, nr)
	t.took = append(t.took, time.Since(start))
	return err
}

// BenchmarkSlowExecScaling runs 8 independent exec runs of 200 ms each
// on 1, 2 and 4 workers of concurrency 1.
func BenchmarkSlowExecScaling(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nnodes:\n")
	for i := range 8 {
		fmt.Fprintf(&sb, "  s%d:\n    type: exec\n    with: {command: [sleep, \"0.2\"]}\n", i)
	}
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			ex, _ := benchCluster(b, n, 1)
			flow := loadB(b, sb.String())
			if err := ex.WaitForWorkers(b.Context(), flow, 10*time.Second); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := engine.Run(b.Context(), flow, engine.Options{Executor: ex}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamThroughWorker measures chunks per second through a
// worker, with the credit window (backpressure) on: a stream of 0..n-1
// from a worker to the coordinator (out), and from the coordinator to a
// reader on a worker (in), read and checked in order by test.reader.
func BenchmarkStreamThroughWorker(b *testing.B) {
	for _, dir := range []struct{ name, src, reader string }{
		{"out", "worker", "local"},
		{"in", "local", "worker"},
	} {
		b.Run(dir.name, func(b *testing.B) {
			h := newHooks(100000)
			ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			url := ns.ClientURL()
			nc, err := nats.Connect(url)
			if err != nil {
				b.Fatal(err)
			}
			reg := registry.New()
			if err := registerBuiltins(reg); err != nil {
				b.Fatal(err)
			}
			if err := h.register(reg, "coordinator"); err != nil {
				b.Fatal(err)
			}
			ex, err := cluster.NewExecutor(b.Context(), nc, cluster.ExecutorOptions{})
			if err != nil {
				b.Fatal(err)
			}
			wreg := registry.New()
			if err := h.register(wreg, "w1"); err != nil {
				b.Fatal(err)
			}
			wnc, err := nats.Connect(url)
			if err != nil {
				b.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			w, err := cluster.NewWorker(ctx, wnc, cluster.WorkerOptions{Registry: wreg})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); _ = w.Run(ctx, ctx) }()
			b.Cleanup(func() {
				stop()
				<-done
				wnc.Close()
				nc.Close()
				ns.Shutdown()
				ns.WaitForShutdown()
			})
			flow, err := graph.Load("flow.yaml", []byte(fmt.Sprintf(`version: 1
nodes:
  src: {type: test.source, placement: %s}
  r: {type: test.reader, inputs: {s: src}, placement: %s}
`, dir.src, dir.reader)), reg, graph.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := ex.WaitForWorkers(b.Context(), flow, 10*time.Second); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := engine.Run(b.Context(), flow, engine.Options{Executor: ex})
				if err != nil || res.Final["r"]["out"] != h.n {
					b.Fatalf("err %v, final %v", err, res.Final)
				}
			}
			b.ReportMetric(float64(h.n)*float64(b.N)/b.Elapsed().Seconds(), "chunks/s")
		})
	}
}
