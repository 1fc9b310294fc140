package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/flowcli"
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
	// ranOn counts the end events that name each worker (--events
	// records which worker ran each run).
	ranOn := map[string]int64{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			if why, ok := clusterLocalOnly[name]; ok {
				t.Skip(why)
			}
			stateful += statefulOnWorkers(t, file)
			r := runCase(t, file, "--nats", url, "--placement", "workers", "--worker-wait", "30s")
			for _, ev := range r.events {
				w, ok := ev["worker"]
				if !ok {
					continue
				}
				if ev["event"] != "end" {
					t.Errorf("a %v event names a worker: %v", ev["event"], ev)
				}
				id, _ := w.(string)
				if !slices.ContainsFunc(workers, func(w *cluster.Worker) bool { return w.ID() == id }) {
					t.Errorf("event names worker %q, which is none of the workers: %v", w, ev)
				}
				ranOn[id]++
			}
		})
	}
	if stateful == 0 {
		t.Errorf("no stateful node of the suite ran on workers")
	}
	t.Logf("%d stateful nodes ran on workers", stateful)
	var n, live, named int64
	for _, w := range workers {
		n += w.Executed()
		live += w.LiveStreams()
		named += ranOn[w.ID()]
		// A worker may run more than the event log shows (a run cancelled
		// when the flow ended has no result), never less.
		if ranOn[w.ID()] > w.Executed() {
			t.Errorf("the event logs name worker %s for %d runs; it ran %d", w.ID(), ranOn[w.ID()], w.Executed())
		}
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
	if named < int64(len(files)) {
		t.Errorf("the event logs name a worker for %d runs of %d cases: --events does not record the workers", named, len(files))
	}
	t.Logf("the event logs name a worker for %d runs (%v)", named, ranOn)
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

// TestWorkerLogsEachRun runs "flowrun worker --log-level debug" and a
// flow on it, and checks the worker logged one line per run it took,
// naming itself, the node and the generation, and that the event log's
// end records name it.
func TestWorkerLogsEachRun(t *testing.T) {
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	url := ns.ClientURL()
	ctx, stop := context.WithCancel(t.Context())
	var log lockedBuffer
	workerDone := make(chan int, 1)
	go func() {
		workerDone <- flowcli.Main(ctx, []string{"flowrun", "worker", "--nats", url, "--name", "wd", "--log-level", "debug", "--log-format", "json"}, nil, strings.NewReader(""), &log, &log)
	}()
	stopWorker := sync.OnceValue(func() int { stop(); return <-workerDone })
	defer stopWorker()
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	const src = `version: 1
nodes:
  step:
    type: exec
    inputs: {n: step}
    defaults: {n: 0}
    with:
      command: [sh, -c, 'read l; n=$(printf %s "$l" | tr -dc 0-9); echo $((n + 1))']
      output: json
`
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	events := filepath.Join(dir, "events.jsonl")
	var stdout, stderr bytes.Buffer
	code := flowcli.Main(t.Context(), []string{"flowrun", "run", "--nats", url, "--worker-wait", "30s", "--max-generations", "3", "--events", events, flow}, nil, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr.String())
	}
	if code := stopWorker(); code != 0 {
		t.Fatalf("worker: exit %d\n%s", code, log.String())
	}

	var gens []float64
	for _, line := range strings.Split(log.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "run" {
			continue
		}
		if rec["level"] != "DEBUG" || rec["worker"] != "wd" || rec["node"] != "step" || rec["type"] != "exec" {
			t.Errorf("run record: %v", rec)
		}
		g, _ := rec["generation"].(float64)
		gens = append(gens, g)
	}
	if !slices.Equal(gens, []float64{1, 2, 3}) {
		t.Errorf("the worker logged runs of generations %v, want [1 2 3]\n%s", gens, log.String())
	}
	data, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["event"] == "end" {
			ends++
			if ev["worker"] != "wd" {
				t.Errorf("end event without the worker's name: %s", line)
			}
		}
	}
	if ends != 3 {
		t.Errorf("%d end events, want 3", ends)
	}
}
