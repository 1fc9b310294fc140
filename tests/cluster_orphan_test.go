//go:build linux

package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/internal/testenv"
	"github.com/flowrun/flowrun/registry"
)

// TestWorkerSIGKILLedKillsItsPrograms SIGKILLs a "flowrun worker"
// process while a program started by its exec node runs: the program
// dies with it instead of running on as an orphan.
func TestWorkerSIGKILLedKillsItsPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := buildFlowrun(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("PID_FILE", pidFile)
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	url := ns.ClientURL()

	worker := exec.Command(bin, "worker", "--nats", url, "--ack-wait", "1s", "--name", "w1", "--log-level", "warn")
	worker.Stderr = os.Stderr
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	workerDone := make(chan struct{})
	go func() { _ = worker.Wait(); close(workerDone) }()
	defer func() { _ = worker.Process.Kill(); <-workerDone }()

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ex, err := cluster.NewExecutor(t.Context(), nc, cluster.ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	flow, err := graph.Load("flow.yaml", []byte(testenv.SleeperFlow), reg, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.WaitForWorkers(t.Context(), flow, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The program's first line comes as the node's first chunk, after
	// its pid is written.
	chunks := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("flowrun.chunk.>", chunks)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := engine.Run(ctx, flow, engine.Options{Executor: ex})
		res <- err
	}()
	var pid int
	select {
	case <-chunks:
		data, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
			t.Fatalf("pid file %q: %v", data, err)
		}
	case err := <-res:
		t.Fatalf("the run ended before the program started: %v", err)
	}
	if !testenv.ProcAlive(pid) {
		t.Fatalf("program %d is not running", pid)
	}
	defer func() {
		if testenv.ProcAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}()

	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-workerDone
	// The kernel signals the program as the worker dies; it is gone (or a
	// zombie waiting for init) moments later.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for testenv.ProcAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("program %d still runs 10 s after its worker was SIGKILLed", pid)
		}
		<-tick.C
	}

	cancel()
	if err := <-res; !errors.Is(err, engine.ErrInterrupted) {
		t.Fatalf("run: %v, want interrupted", err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
}
