package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/flowcli"
)

// poisonFlow's node kills the worker process running it (its program's
// parent) every time, after noting the death in $DEATH_LOG.
const poisonFlow = `version: 1
nodes:
  boom:
    type: exec
    with:
      command: [sh, -c, 'echo died >> "$DEATH_LOG"; kill -9 $PPID']
      pass_env: [DEATH_LOG]
`

// TestClusterPoisonTaskFailsTheRun runs a node that kills its worker on
// "flowrun worker" processes, starting a new worker each time one dies:
// after --max-deliveries deliveries the run fails with one line naming
// the node and the count, exit 1, instead of killing workers forever.
// The failure is reported by the worker handed the next delivery (the
// one started after the last death), which does not run the node: the
// node killed exactly --max-deliveries workers.
func TestClusterPoisonTaskFailsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const maxDeliveries = 3
	bin := buildFlowrun(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(poisonFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	deaths := filepath.Join(dir, "deaths.log")
	t.Setenv("DEATH_LOG", deaths)
	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	url := ns.ClientURL()

	// One worker at a time; a new one when it dies.
	stop := make(chan struct{})
	supplyDone := make(chan struct{})
	var mu sync.Mutex
	var cur *exec.Cmd
	started := 0
	go func() {
		defer close(supplyDone)
		for {
			mu.Lock()
			select {
			case <-stop:
				mu.Unlock()
				return
			default:
			}
			started++
			cmd := exec.Command(bin, "worker", "--nats", url, "--ack-wait", "1s", "--max-deliveries", fmt.Sprint(maxDeliveries),
				"--name", fmt.Sprintf("w%d", started), "--log-level", "warn")
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				mu.Unlock()
				t.Error(err)
				return
			}
			cur = cmd
			mu.Unlock()
			_ = cmd.Wait()
		}
	}()
	defer func() {
		mu.Lock()
		close(stop)
		if cur != nil {
			_ = cur.Process.Signal(syscall.SIGTERM)
		}
		mu.Unlock()
		<-supplyDone
	}()

	// The bound only turns a hang into a failure; the run ends long before.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := flowcli.Main(ctx, []string{"flowrun", "run", "--nats", url, "--worker-wait", "60s", flow}, nil, strings.NewReader(""), &stdout, &stderr)
	end := time.Now()
	if ctx.Err() != nil {
		t.Fatalf("the run did not end: %s", stderr.String())
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	msg := strings.TrimSpace(stderr.String())
	want := fmt.Sprintf(`node "boom" (exec) failed in run 1: the queue gave up on the run after delivering it %d times`, maxDeliveries)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, want) {
		t.Errorf("stderr:\n%s\nwant one line containing %q", msg, want)
	}
	if n, _ := countLines(t, deaths); n != maxDeliveries {
		t.Errorf("the node killed %d workers, want %d (one per delivery)", n, maxDeliveries)
	}
	t.Logf("stderr: %s", msg)
	if fi, err := os.Stat(deaths); err == nil {
		t.Logf("the run failed %v after the last death (--ack-wait 1s)", end.Sub(fi.ModTime()).Round(time.Millisecond))
	}
}
