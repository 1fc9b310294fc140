package cluster_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/registry"
)

// stateFlow cycles 12 times through a local math.inc; total and count are
// stateful and run on workers; sums, local, adds up every output of
// count and total, so a count or total that skipped or repeated a step
// in any generation shows in the final values.
const stateFlow = `version: 1
nodes:
  tick:
    type: math.inc
    inputs: {x: tick}
    defaults: {x: 0}
    max_generations: 12
  total:
    type: state.accumulator
    inputs: {x: tick}
    placement: worker
  count:
    type: state.counter
    after: [tick]
    placement: worker
  sum_counts:
    type: state.accumulator
    inputs: {x: count}
  sum_totals:
    type: state.accumulator
    inputs: {x: total}
`

// testWorker is a worker running as a goroutine.
type testWorker struct {
	w    *cluster.Worker
	stop context.CancelFunc
	done chan struct{}
}

// startWorker starts a worker on url; crash, when not nil, is its crash
// hook. The test's cleanup stops it.
func startWorker(t *testing.T, url, id string, crash func(point, node string, gen int) bool) *testWorker {
	t.Helper()
	return startWorkerWith(t, builtins(t), url, id, crash)
}

// startWorkerWith is startWorker serving the types of reg.
func startWorkerWith(t *testing.T, reg *registry.Registry, url, id string, crash func(point, node string, gen int) bool) *testWorker {
	t.Helper()
	return startWorkerOpts(t, url, cluster.WorkerOptions{Registry: reg, AckWait: 500 * time.Millisecond, ID: id}, crash)
}

// startWorkerOpts is startWorker with opts.
func startWorkerOpts(t *testing.T, url string, opts cluster.WorkerOptions, crash func(point, node string, gen int) bool) *testWorker {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	w, err := cluster.NewWorker(ctx, nc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if crash != nil {
		cluster.SetCrashHook(w, crash)
	}
	tw := &testWorker{w: w, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(tw.done)
		if err := w.Run(ctx, ctx); err != nil {
			t.Errorf("worker %s: %v", opts.ID, err)
		}
	}()
	t.Cleanup(func() { stop(); <-tw.done; nc.Close() })
	return tw
}

// runOnCluster runs flow src with an executor on url and returns the
// result; it checks the run's state keys are gone afterwards.
func runOnCluster(t *testing.T, url, src string) *engine.Result {
	t.Helper()
	ex, nc := newExecutor(t, url)
	flow := load(t, builtins(t), src)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := engine.Run(ctx, flow, engine.Options{Executor: ex})
	if err != nil {
		t.Fatalf("run on workers: %v", err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), cluster.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		t.Errorf("state key %s left after the run", k)
	}
	return res
}

func runLocally(t *testing.T, src string) *engine.Result {
	t.Helper()
	res, err := engine.Run(t.Context(), load(t, builtins(t), src), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestStatefulRunsHopAcrossWorkers runs the stateful nodes on worker w1
// until count's fourth run, then stops w1 and starts w2, which takes the
// remaining runs on the state w1 recorded: the final values are those of
// a local run.
func TestStatefulRunsHopAcrossWorkers(t *testing.T) {
	url := server(t)
	var mu sync.Mutex
	ran := map[string][]int{} // worker -> count's generations
	var w1 *testWorker
	var once sync.Once
	var record func(id string) func(point, node string, gen int) bool
	record = func(id string) func(point, node string, gen int) bool {
		return func(point, node string, gen int) bool {
			if point != "after-state" || node != "count" {
				return false
			}
			mu.Lock()
			ran[id] = append(ran[id], gen)
			mu.Unlock()
			if id == "w1" && gen == 3 {
				once.Do(func() {
					w1.stop()
					startWorker(t, url, "w2", record("w2"))
				})
			}
			return false
		}
	}
	w1 = startWorker(t, url, "w1", record("w1"))
	got := runOnCluster(t, url, stateFlow)
	want := runLocally(t, stateFlow)
	if !reflect.DeepEqual(got.Final, want.Final) {
		t.Errorf("final values on workers:\n%v\nlocally:\n%v", got.Final, want.Final)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran["w1"]) == 0 || len(ran["w2"]) == 0 || len(ran["w1"])+len(ran["w2"]) != 12 {
		t.Errorf("count's runs by worker: %v; want some on each, 12 in all", ran)
	}
	t.Logf("count's generations by worker: %v", ran)
}

// TestStatefulRunRedeliveredAfterCrash makes the worker that takes
// count's fifth run die (no result, no ack, no more heartbeats; then it
// stops), before or after recording the run's state; the other worker
// takes the redelivered run. Before the state write, the run is run again
// on the state of the fourth; after it, the survivor publishes the
// recorded result without running the node. Either way the state is
// applied once: the final values are those of a local run.
func TestStatefulRunRedeliveredAfterCrash(t *testing.T) {
	for _, point := range []string{"before-state", "after-state"} {
		t.Run(point, func(t *testing.T) {
			url := server(t)
			var mu sync.Mutex
			workers := map[string]*testWorker{}
			crashed := ""
			hook := func(id string) func(p, node string, gen int) bool {
				return func(p, node string, gen int) bool {
					mu.Lock()
					defer mu.Unlock()
					if p != point || node != "count" || gen != 4 || crashed != "" {
						return false
					}
					crashed = id
					workers[id].stop()
					return true
				}
			}
			mu.Lock()
			for _, id := range []string{"w1", "w2"} {
				workers[id] = startWorker(t, url, id, hook(id))
			}
			mu.Unlock()
			got := runOnCluster(t, url, stateFlow)
			want := runLocally(t, stateFlow)
			mu.Lock()
			defer mu.Unlock()
			if crashed == "" {
				t.Fatal("no worker reached the crash point")
			}
			if !reflect.DeepEqual(got.Final, want.Final) {
				t.Errorf("final values on workers:\n%v\nlocally:\n%v", got.Final, want.Final)
			}
			survivor := map[string]string{"w1": "w2", "w2": "w1"}[crashed]
			replays, _ := cluster.StateCounts(workers[survivor].w)
			if point == "after-state" && replays != 1 {
				t.Errorf("%s replayed %d recorded results, want 1 (the run %s recorded before dying)", survivor, replays, crashed)
			}
			if point == "before-state" && replays != 0 {
				t.Errorf("%s replayed %d recorded results, want 0 (%s died before recording)", survivor, replays, crashed)
			}
		})
	}
}

// TestStatefulRunRecordedByTwoWorkers makes the same run of count take
// place twice: the worker that takes count's fifth run first holds it
// after running it, without heartbeats, until the queue handed it again
// (to the other worker, or to itself) and that second execution recorded
// it. The held execution's compare-and-set then fails; it reads the
// record and publishes the recorded result instead of its own, so the
// state is applied once.
func TestStatefulRunRecordedByTwoWorkers(t *testing.T) {
	url := server(t)
	recorded := make(chan struct{})
	var mu sync.Mutex
	holder := ""
	hook := func(id string) func(p, node string, gen int) bool {
		return func(p, node string, gen int) bool {
			if node != "count" || gen != 4 {
				return false
			}
			mu.Lock()
			switch {
			case p == "before-state" && holder == "":
				holder = id
				mu.Unlock()
				<-recorded
				return false
			case p == "after-state" && holder != "":
				close(recorded)
			}
			mu.Unlock()
			return false
		}
	}
	w1 := startWorker(t, url, "w1", hook("w1"))
	w2 := startWorker(t, url, "w2", hook("w2"))
	got := runOnCluster(t, url, stateFlow)
	want := runLocally(t, stateFlow)
	if !reflect.DeepEqual(got.Final, want.Final) {
		t.Errorf("final values on workers:\n%v\nlocally:\n%v", got.Final, want.Final)
	}
	mu.Lock()
	defer mu.Unlock()
	h := map[string]*testWorker{"w1": w1, "w2": w2}[holder]
	if h == nil {
		t.Fatal("no worker held count's fifth run")
	}
	if replays, _ := cluster.StateCounts(h.w); replays != 1 {
		t.Errorf("%s published %d recorded results, want 1 (the other execution's, after its compare-and-set failed)", holder, replays)
	}
}

// hoardNode keeps 400 kB more state at every run.
type hoardNode struct{ kept []byte }

func (n *hoardNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	n.kept = append(n.kept, make([]byte, 400<<10)...)
	out.Set("out", len(n.kept))
	return nil
}

func (n *hoardNode) MarshalState() ([]byte, error) { return n.kept, nil }

func (n *hoardNode) UnmarshalState(data []byte) error { n.kept = data; return nil }

// TestStatefulRunTooLargeToRecordFails: a node whose state outgrows what
// the server takes in a message fails with a message saying so, instead
// of being redelivered forever.
func TestStatefulRunTooLargeToRecordFails(t *testing.T) {
	url := server(t)
	reg := builtins(t)
	reg.MustRegister(registry.Spec{
		Type:       "test.hoard",
		Doc:        "Keeps more and more state.",
		Inputs:     []registry.Input{{Name: "x"}},
		Outputs:    []registry.Output{{Name: "out"}},
		Stateful:   true,
		SavesState: true,
		New:        func(registry.Config, registry.Env) (registry.Node, error) { return &hoardNode{}, nil },
	})
	startWorkerWith(t, reg, url, "w1", nil)
	ex, _ := newExecutor(t, url)
	defer ex.Close()
	flow := load(t, reg, `version: 1
nodes:
  tick:
    type: math.inc
    inputs: {x: tick}
    defaults: {x: 0}
    max_generations: 5
  hoard:
    type: test.hoard
    inputs: {x: tick}
    placement: worker
`)
	_, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex})
	var nerr *engine.NodeError
	if !errors.As(err, &nerr) || nerr.Node != "hoard" || nerr.Generation != 1 ||
		!strings.Contains(err.Error(), "over the") || !strings.Contains(err.Error(), "placement: local") {
		t.Fatalf("run: %v, want node hoard failing in its second run because its state is too large", err)
	}
	t.Log(err)
}
