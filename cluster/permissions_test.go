package cluster_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/registry"
)

// The permissions docs/cluster.md gives the coordinator and the workers
// on a NATS deployment that restricts its users.
var (
	coordinatorPub = []string{"$JS.API.>", "flowrun.task.>", "flowrun.cancel.>", "$KV.flowrun_cancel.>", "flowrun.credit.>", "flowrun.in.>"}
	coordinatorSub = []string{"_INBOX.>", "flowrun.result.>", "flowrun.chunk.>", "flowrun.incredit.>"}
	workerPub      = []string{"$JS.API.>", "$JS.ACK.FLOWRUN_TASKS.>", "$KV.flowrun_workers.>", "$KV.flowrun_state.>", "$JS.FC.KV_flowrun_cancel.>", "flowrun.result.>", "flowrun.chunk.>", "flowrun.incredit.>"}
	workerSub      = []string{"_INBOX.>", "flowrun.cancel.>", "flowrun.credit.>", "flowrun.in.>"}
)

// TestRunsWithDocumentedPermissions runs flows on a server whose users
// have only the documented permissions: streams out of and into a
// worker, a stateful node on a worker, and a poison run, which fails
// (the coordinator needs no permission on $JS.EVENT.>). Any permission
// violation, on either side, fails the test.
func TestRunsWithDocumentedPermissions(t *testing.T) {
	perms := func(pub, sub []string) *natsserver.Permissions {
		return &natsserver.Permissions{Publish: &natsserver.SubjectPermission{Allow: pub}, Subscribe: &natsserver.SubjectPermission{Allow: sub}}
	}
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		Users: []*natsserver.User{
			{Username: "coordinator", Password: "c", Permissions: perms(coordinatorPub, coordinatorSub)},
			{Username: "worker", Password: "w", Permissions: perms(workerPub, workerSub)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	addr := ns.Addr().String()
	var mu sync.Mutex
	var violations []string
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range violations {
			t.Errorf("%s", v)
		}
	}()
	connect := func(user, pass string) *nats.Conn {
		nc, err := nats.Connect("nats://"+addr, nats.UserInfo(user, pass), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			violations = append(violations, user+": "+err.Error())
			mu.Unlock()
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	reg := builtins(t)
	started := make(chan struct{}, 4)
	reg.MustRegister(registry.Spec{
		Type:    "test.hang",
		Doc:     "Says it started, then waits until cancelled.",
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return nodeFunc(func(ctx context.Context, _ registry.Inputs, _ registry.Outputs) error {
				started <- struct{}{}
				<-ctx.Done()
				return context.Cause(ctx)
			}), nil
		},
	})
	worker := func(id string) *killableWorker {
		nc := connect("worker", "w")
		ctx, stop := context.WithCancel(context.Background())
		w, err := cluster.NewWorker(ctx, nc, cluster.WorkerOptions{Registry: reg, ID: id, AckWait: 300 * time.Millisecond, MaxDeliveries: 1})
		if err != nil {
			stop()
			t.Fatal(err)
		}
		tw := &killableWorker{id: id, w: w, nc: nc, stop: stop, done: make(chan struct{})}
		go func() { defer close(tw.done); _ = w.Run(ctx, ctx) }()
		t.Cleanup(tw.kill)
		return tw
	}
	w1 := worker("w1")
	run := func(src string) (*engine.Result, error) {
		nc := connect("coordinator", "c")
		ex, err := cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := ex.Close(); err != nil {
				t.Errorf("closing the executor: %v", err)
			}
		}()
		flow := load(t, reg, src)
		if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return engine.Run(ctx, flow, engine.Options{Executor: ex})
	}

	res, err := run(`version: 1
nodes:
  nums: {type: stream.range, with: {stop: 50}, placement: local}
  into: {type: stream.collect, inputs: {s: nums}, placement: worker}
  wnums: {type: stream.range, with: {stop: 50}, placement: worker}
  outof: {type: stream.collect, inputs: {s: wnums}, placement: local}
  count: {type: state.counter, after: [into], placement: worker}
`)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, n := range []string{"into", "outof"} {
		if got, _ := res.Final[n]["out"].([]any); len(got) != 50 {
			t.Errorf("%s collected %d chunks, want 50", n, len(got))
		}
	}
	if got := res.Final["count"]["out"]; got != 1 {
		t.Errorf("count = %v, want 1", got)
	}

	done := make(chan error, 1)
	go func() {
		_, err := run(`version: 1
nodes:
  boom: {type: test.hang, placement: worker}
`)
		done <- err
	}()
	<-started
	w1.kill()
	worker("w2") // takes the second delivery and reports the poison run
	if err := <-done; err == nil || !strings.Contains(err.Error(), "the queue gave up on the run after delivering it 1 times") {
		t.Fatalf("poison run: %v, want it to fail as poison", err)
	}
}
