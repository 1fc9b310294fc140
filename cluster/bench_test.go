package cluster_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/registry"
)

// benchCluster starts a server and n workers (goroutines) serving the
// built-in types; the benchmark's cleanup stops them.
func benchCluster(b *testing.B, n, concurrency int) *cluster.Executor {
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
	return ex
}

// BenchmarkDispatch measures the cost of one node run shipped to a worker
// and back, on loopback: a cycle of two math.inc nodes, both on the
// worker, so every run is one round trip.
func BenchmarkDispatch(b *testing.B) {
	const gens = 200
	ex := benchCluster(b, 1, 4)
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
	for b.Loop() {
		res, err := engine.Run(b.Context(), flow, engine.Options{Executor: ex, NodeLimits: map[string]int{"a": gens}})
		if err != nil || res.Final["b"]["out"] != 2*gens {
			b.Fatalf("err %v, final %v", err, res.Final)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(2*gens), "µs/run")
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
			ex := benchCluster(b, n, 1)
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
