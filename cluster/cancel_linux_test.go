//go:build linux

package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/internal/testenv"
)

// TestCancelReachesWorkerAfterItsReconnect: the worker's connection is
// cut while its exec node's program sleeps, and the coordinator cancels
// the run meanwhile: the core cancel message cannot reach the worker.
// Once the worker's connection is back, it learns the cancel from the
// cancel bucket: the program is killed and no result is recorded.
// "flow run": Ctrl-C (the flow run's context cancelled, then Close);
// "try": only the run's try is cancelled (no Close until the program
// died); "long": as "flow run", with the worker away until the server
// removed the consumer of its watch (5 s without interest).
func TestCancelReachesWorkerAfterItsReconnect(t *testing.T) {
	for _, how := range []string{"flow run", "try", "long"} {
		t.Run(how, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			t.Setenv("PID_FILE", pidFile)
			url := server(t)
			reg := builtins(t)
			proxy := startProxy(t, url[len("nats://"):])
			cw := newConnWatch()
			stopWorker := startWorkerOn(t, reg, proxy.url(), cluster.WorkerOptions{}, cw.options(nil)...)

			ex, nc := newExecutor(t, url)
			flow := load(t, reg, testenv.SleeperFlow)
			if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			// The program's first line comes as the node's first chunk,
			// after its pid is written.
			chunks := make(chan *nats.Msg, 16)
			sub, err := nc.ChanSubscribe("flowrun.chunk.>", chunks)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := startRun(ctx, flow, ex)
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
			case o := <-done:
				t.Fatalf("the run ended before the program started: %v", o.err)
			}
			defer func() {
				if testenv.ProcAlive(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}()

			proxy.cut()
			<-cw.disconnected
			cancel()
			if o := <-done; !errors.Is(o.err, engine.ErrInterrupted) {
				t.Fatalf("run: %v, want interrupted", o.err)
			}
			if how != "try" {
				if err := ex.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if how == "long" {
				js, err := jetstream.New(nc)
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the server to remove the consumer of the worker's watch", func() bool {
					s, err := js.Stream(t.Context(), "KV_"+cluster.CancelBucket)
					return err == nil && s.CachedInfo().State.Consumers == 0
				})
			}
			if !testenv.ProcAlive(pid) {
				t.Fatal("the program died while its worker was disconnected: the test does not cut what it means to")
			}
			proxy.restore()
			<-cw.reconnected
			waitFor(t, "the program to be killed after its worker reconnected", func() bool { return !testenv.ProcAlive(pid) })
			if how == "try" {
				if err := ex.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// Stopping the worker waits for its runs to end: the
			// cancelled one records no result.
			stopWorker()
			if n := storedResultCount(t, url, ex.RunID()); n != 0 {
				t.Fatalf("%d results recorded for the cancelled flow run, want none", n)
			}
		})
	}
}
