package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/registry"
)

// TestPoisonFailureWhileCoordinatorReconnects: a run whose every worker
// dies while running it fails once it was delivered --max-deliveries
// times; the worker handed the next delivery reports the failure through
// the results stream, so it reaches the coordinator even when the
// coordinator's connection is down at that moment (the server's
// advisory, a core message, was lost then and the flow waited forever).
// The task leaves the queue, and the node ran once per death, not on the
// reporting worker.
func TestPoisonFailureWhileCoordinatorReconnects(t *testing.T) {
	const maxDeliveries = 2
	url := server(t)
	reg := builtins(t)
	started := make(chan string, maxDeliveries+1)
	reg.MustRegister(registry.Spec{
		Type:    "test.hang",
		Doc:     "Says which worker runs it, then waits until cancelled.",
		Outputs: []registry.Output{{Name: "out"}},
		New: func(_ registry.Config, env registry.Env) (registry.Node, error) {
			var worker string
			if env.Getenv != nil { // nil when the flow is loaded
				worker = env.Getenv("WORKER")
			}
			return nodeFunc(func(ctx context.Context, _ registry.Inputs, _ registry.Outputs) error {
				started <- worker
				<-ctx.Done()
				return context.Cause(ctx)
			}), nil
		},
	})
	worker := func(n int) *killableWorker {
		id := fmt.Sprintf("w%d", n)
		return startKillable(t, url, cluster.WorkerOptions{Registry: reg, ID: id, AckWait: 300 * time.Millisecond, MaxDeliveries: maxDeliveries,
			Env: registry.Env{Getenv: func(k string) string {
				if k == "WORKER" {
					return id
				}
				return ""
			}}})
	}
	w := worker(1)
	pc := coordinatorViaProxy(t, url, reg, `version: 1
nodes:
  boom: {type: test.hang, placement: worker}
`, cluster.ExecutorOptions{})
	stored := storedResults(t, url, pc.ex)

	// Bounded, so that the run fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := startRun(ctx, pc.flow, pc.ex)
	if got := <-started; got != "w1" {
		t.Fatalf("the first run was on %s, want w1", got)
	}
	pc.proxy.cut()
	<-pc.disconnected
	// Each worker that takes the run dies; the next one is started
	// after, so every delivery goes to a new worker.
	for n := 2; n <= maxDeliveries; n++ {
		w.kill()
		w = worker(n)
		if got := <-started; got != w.id {
			t.Fatalf("run %d was on %s, want %s", n, got, w.id)
		}
	}
	w.kill()
	worker(maxDeliveries + 1)
	m, err := stored.Next()
	if err != nil {
		t.Fatalf("waiting for the poison run's failure to be stored: %v", err)
	}
	pc.proxy.restore()
	o := <-done
	want := fmt.Sprintf(`node "boom" (test.hang) failed in run 1: the queue gave up on the run after delivering it %d times`, maxDeliveries)
	if o.err == nil || !strings.Contains(o.err.Error(), want) {
		t.Fatalf("run: %v\nwant an error containing %q (stored result: %s)", o.err, want, m.Data())
	}
	select {
	case who := <-started:
		t.Fatalf("the worker that reported the poison run ran it too (%s)", who)
	default:
	}
	if st := tasksState(t, url); st.Msgs != 0 {
		t.Fatalf("the tasks stream holds %d tasks after the poison run failed, want 0", st.Msgs)
	}
	if err := pc.ex.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkerLiftsTheQueuesDeliveryLimit: a node type's consumer that an
// earlier version created on a persistent server with a delivery limit
// (MaxDeliver 5: the server then gave up on a poison task by itself) has
// no limit once a worker started, so that the worker decides.
func TestWorkerLiftsTheQueuesDeliveryLimit(t *testing.T) {
	url := server(t)
	ex, nc := newExecutor(t, url) // creates the streams
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	old := jetstream.ConsumerConfig{Durable: "type_exec", FilterSubject: "flowrun.task.*.exec", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cluster.DefaultAckWait, MaxDeliver: 5, MaxAckPending: 10_000}
	if _, err := js.CreateConsumer(t.Context(), cluster.TasksStream, old); err != nil {
		t.Fatal(err)
	}
	reg := builtins(t)
	startWorkerWith(t, reg, url, "w1", nil)
	// The worker announces itself once its consumers are set up.
	if err := ex.WaitForWorkers(t.Context(), load(t, reg, sleepFlow), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c, err := js.Consumer(t.Context(), cluster.TasksStream, "type_exec")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.MaxDeliver; got != -1 {
		t.Fatalf("the exec consumer's MaxDeliver is %d after a worker started, want -1 (no limit)", got)
	}
}

// TestPoisonStatefulRunKeepsTheState: a stateful node's run whose worker
// "dies" (the crash hook: no result, no ack, no heartbeat) after running
// it, before recording its state, fails as poison on its next delivery.
// That delivery records the failed run with the state of before it, as
// any failed run: under on_error: continue, the node's next run starts
// from that state (here: none, a fresh counter) instead of failing with
// its state missing from the bucket.
func TestPoisonStatefulRunKeepsTheState(t *testing.T) {
	url := server(t)
	crashed := make(chan struct{})
	startWorkerOpts(t, url, cluster.WorkerOptions{Registry: builtins(t), ID: "w1", AckWait: 300 * time.Millisecond, MaxDeliveries: 1},
		func(point, node string, gen int) bool {
			if point != "before-state" || gen != 0 {
				return false
			}
			select {
			case <-crashed:
				return false
			default:
				close(crashed)
				return true
			}
		})
	res := runOnCluster(t, url, `version: 1
nodes:
  tick:
    type: math.inc
    inputs: {x: tick}
    defaults: {x: 0}
    max_generations: 3
  count:
    type: state.counter
    after: [tick]
    placement: worker
    on_error: continue
`)
	select {
	case <-crashed:
	default:
		t.Fatal("the worker never reached the crash point")
	}
	// Runs 2 and 3 counted from a fresh counter: run 1 failed as poison.
	if got := res.Final["count"]; got["out"] != 2 || got["error"] != nil {
		t.Fatalf("count's outputs = %v, want out 2 and no error (the poison run 1 recorded no state of its own)", got)
	}
}
