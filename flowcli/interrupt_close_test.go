package flowcli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/registry"
)

// stuckNode runs until its run is cancelled, telling started that it
// runs; its Close fails.
type stuckNode struct{ started chan<- struct{} }

func (n stuckNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	close(n.started)
	<-ctx.Done()
	return context.Cause(ctx)
}

func (stuckNode) Close(context.Context) error { return errors.New("cannot flush the cache") }

// TestInterruptedRunWhoseCloseFails: an interrupted run ends with 130
// even when a node fails to close; the close error is still reported.
func TestInterruptedRunWhoseCloseFails(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	reg := registry.New()
	reg.MustRegister(registry.Spec{
		Type:    "test.stuck",
		Doc:     "Runs until cancelled; fails to close.",
		Outputs: []registry.Output{{Name: "out", Type: registry.Any, Doc: "Nothing, ever."}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return stuckNode{started: started}, nil
		},
	})
	flow := filepath.Join(t.TempDir(), "stuck.yaml")
	if err := os.WriteFile(flow, []byte("nodes:\n  s: {type: test.stuck}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel() // as SIGTERM does
	}()
	var stderr bytes.Buffer
	code := flowcli.Main(ctx, []string{"flowrun", "run", flow}, reg, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	if code != flowcli.ExitInterrupted {
		t.Errorf("exit code %d, want %d (interrupted)", code, flowcli.ExitInterrupted)
	}
	out := stderr.String()
	if !strings.Contains(out, `stuck.yaml:2:3: node "s" (test.stuck) failed to close: cannot flush the cache`) {
		t.Errorf("stderr does not report the close error:\n%s", out)
	}
	if n := strings.Count(out, "flowrun: interrupted"); n != 1 || !strings.HasSuffix(out, "flowrun: interrupted\n") {
		t.Errorf("stderr says \"flowrun: interrupted\" %d times, want once, last:\n%s", n, out)
	}
}
