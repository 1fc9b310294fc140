package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// clusterLocalOnly lists the conformance cases that cannot give the same
// result on workers, and why.
var clusterLocalOnly = map[string]string{}

// TestConformanceCluster runs the conformance suite again with every node
// that can run on a worker placed on workers (--placement workers), on an
// embedded NATS server with two workers, and checks the same
// expectations: final values, per-node run sequences, chunks, order.
func TestConformanceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster conformance is not short")
	}
	url, workers := startCluster(t, 2)
	files, err := filepath.Glob("testdata/conformance/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	stateful := 0 // stateful nodes the suite places on workers
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			if why, ok := clusterLocalOnly[name]; ok {
				t.Skip(why)
			}
			stateful += statefulOnWorkers(t, file)
			runCase(t, file, "--nats", url, "--placement", "workers", "--worker-wait", "30s")
		})
	}
	if stateful == 0 {
		t.Errorf("no stateful node of the suite ran on workers")
	}
	t.Logf("%d stateful nodes ran on workers", stateful)
	var n, live int64
	for _, w := range workers {
		n += w.Executed()
		live += w.LiveStreams()
	}
	if n < int64(len(files)) {
		t.Errorf("the workers ran %d node runs for %d cases: the suite did not run on them", n, len(files))
	}
	// The stream readers of the streaming cases (st*, sc*, mc*, x*) run
	// on workers too, reading their streams as they arrive.
	if live < 20 {
		t.Errorf("the workers' runs read %d streams relayed as they arrived: stream readers did not run on workers", live)
	}
	t.Logf("the workers ran %d node runs, reading %d streams as they arrived", n, live)
}

// statefulOnWorkers returns how many stateful nodes of a conformance
// case's flow run on workers with --placement workers.
func statefulOnWorkers(t *testing.T, file string) int {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range ar.Files {
		if f.Name != "flow.yaml" {
			continue
		}
		flow, err := graph.Load(f.Name, f.Data, reg, graph.Options{})
		if err != nil {
			return 0 // a case about a flow that does not load
		}
		for _, node := range flow.Nodes {
			if node.Spec.Stateful && cluster.OnWorker(node, cluster.PlaceWorkers) {
				n++
			}
		}
	}
	return n
}

// startCluster starts an embedded NATS server and n workers serving the
// built-in node types, as goroutines, and returns the server's URL; the
// test's cleanup stops them all.
func startCluster(t *testing.T, n int) (string, []*cluster.Worker) {
	t.Helper()
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	url := ns.ClientURL()
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var conns []*nats.Conn
	var workers []*cluster.Worker
	for i := range n {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		w, err := cluster.NewWorker(ctx, nc, cluster.WorkerOptions{Registry: reg, AckWait: 2 * time.Second, Env: registry.Env{Getenv: os.Getenv}, ID: "w" + string(rune('1'+i))})
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx, ctx); err != nil {
				t.Errorf("worker: %v", err)
			}
		}()
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
		for _, nc := range conns {
			nc.Close()
		}
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return url, workers
}
