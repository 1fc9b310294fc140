package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/flowcli"
)

// crashFlow cycles through exec (step), a local math.inc and a streaming
// exec (lines) that emits three chunks per run; total, count and history
// are stateful nodes placed on workers, whose state moves from worker to
// worker. Every run of step appends its input to $CRASH_LOG, so the test
// counts the runs executed twice. A step whose worker is SIGKILLed before
// it wrote the program's stdin leaves an orphaned sh reading end of file:
// "read l || exit 1" keeps that one from logging an empty input.
const crashFlow = `version: 1
nodes:
  step:
    type: exec
    inputs: {n: inc}
    defaults: {n: 0}
    with:
      command: [sh, -c, 'read l || exit 1; n=$(printf %s "$l" | tr -dc 0-9); echo "$n" >> "$CRASH_LOG"; echo $((n + 1))']
      output: json
      pass_env: [CRASH_LOG]
  inc:
    type: math.inc
    inputs: {x: step}
  lines:
    type: exec
    inputs: {n: step}
    with:
      command: [sh, -c, 'read l; for i in 1 2 3; do echo "$i:$l"; done']
      output: lines
  total:
    type: state.accumulator
    inputs: {x: step}
    placement: worker
  count:
    type: state.counter
    after: [step]
    placement: worker
  words:
    type: text.format
    inputs: {n: step}
    with: {template: "question {n}"}
  history:
    type: chat.history
    inputs: {prompt: words}
    with: {max_turns: 5}
    placement: worker
`

// TestClusterWorkersSIGKILLed runs crashFlow on three "flowrun worker"
// processes while SIGKILLing one of them (round robin, then starting a
// replacement) every killEvery results, and checks the final values are
// those of a local run: nothing lost, nothing applied twice.
func TestClusterWorkersSIGKILLed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const gens, killEvery = 120, 60
	bin := buildFlowrun(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(crashFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"flowrun", "run", "--print-final", "json", "--max-generations", fmt.Sprintf("step=%d", gens)}

	// The reference: a local run.
	localLog := filepath.Join(dir, "local.log")
	t.Setenv("CRASH_LOG", localLog)
	var want, stderr bytes.Buffer
	if code := flowcli.Main(t.Context(), append(args, flow), nil, strings.NewReader(""), &want, &stderr); code != 0 {
		t.Fatalf("local run: exit %d\n%s", code, stderr.String())
	}

	ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	url := ns.ClientURL()
	clusterLog := filepath.Join(dir, "cluster.log")
	t.Setenv("CRASH_LOG", clusterLog)

	var mu sync.Mutex
	workers := make([]*exec.Cmd, 3)
	var logs []*lockedBuffer // the workers' stderr, for the counts of stateful redeliveries
	start := func(i int) {
		cmd := exec.Command(bin, "worker", "--nats", url, "--ack-wait", "1s", "--name", fmt.Sprintf("w%d", i+1), "--log-level", "info")
		lb := &lockedBuffer{}
		logs = append(logs, lb)
		cmd.Stderr = lb
		if err := cmd.Start(); err != nil {
			t.Error(err)
			return
		}
		workers[i] = cmd
	}
	for i := range workers {
		start(i)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range workers {
			if w != nil {
				_ = w.Process.Kill()
				_ = w.Wait()
			}
		}
	}()

	// Kill a worker every killEvery results, as they come.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	results := make(chan *nats.Msg, 1024)
	sub, err := nc.ChanSubscribe("flowrun.result.>", results)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	done := make(chan struct{})
	killerDone := make(chan struct{})
	var kills int
	var recoveries []time.Duration
	go func() {
		defer close(killerDone)
		n := 0
		var killedAt time.Time
		for {
			select {
			case <-done:
				return
			case <-results:
			}
			n++
			if !killedAt.IsZero() {
				recoveries = append(recoveries, time.Since(killedAt))
				killedAt = time.Time{}
			}
			if n%killEvery != 0 {
				continue
			}
			mu.Lock()
			i := kills % len(workers)
			if w := workers[i]; w != nil {
				_ = syscall.Kill(w.Process.Pid, syscall.SIGKILL)
				_ = w.Wait()
				kills++
				killedAt = time.Now()
				start(i)
			}
			mu.Unlock()
		}
	}()

	var got bytes.Buffer
	stderr.Reset()
	code := flowcli.Main(t.Context(), append(args, "--nats", url, "--worker-wait", "60s", flow), nil, strings.NewReader(""), &got, &stderr)
	close(done)
	<-killerDone
	if code != 0 {
		t.Fatalf("cluster run: exit %d\n%s", code, stderr.String())
	}
	if got.String() != want.String() {
		t.Errorf("final values on workers:\n%s\nlocally:\n%s", got.String(), want.String())
	}
	execs, distinct := countLines(t, clusterLog)
	if distinct != gens {
		data, _ := os.ReadFile(clusterLog)
		t.Errorf("step ran for %d distinct inputs on workers, want %d; its log:\n%q", distinct, gens, data)
	}
	if kills == 0 {
		t.Errorf("no worker was killed")
	}
	var replays, stale int
	mu.Lock()
	for _, lb := range logs {
		out := lb.String()
		replays += strings.Count(out, "publishing its recorded result")
		stale += strings.Count(out, "stale redelivery dropped")
		if strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") {
			t.Logf("worker log:\n%s", out)
		}
	}
	mu.Unlock()
	t.Logf("%d SIGKILLs; step executed %d times for %d generations (%d executed twice); stateful runs redelivered with their state recorded: %d, stale redeliveries dropped: %d; recovery after a kill (to the next result): %v",
		kills, execs, gens, execs-distinct, replays, stale, recoveries)
}

// lockedBuffer is a bytes.Buffer safe for a process's writes and the
// test's reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countLines returns how many lines the file has and how many distinct.
func countLines(t *testing.T, file string) (lines, distinct int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		seen[sc.Text()] = true
	}
	return lines, len(seen)
}
