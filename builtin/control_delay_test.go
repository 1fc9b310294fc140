package builtin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestControlDelay(t *testing.T) {
	for _, d := range []any{"30ms", 0.03} {
		n := nodetest.New(t, lookup(t, "control.delay"), nodetest.Setup{Params: map[string]any{"duration": d}})
		start := time.Now()
		res := n.Run(t, nodetest.In{Values: map[string]any{"x": 10}})
		if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
			t.Errorf("duration %v: returned after %v, want at least 30ms", d, elapsed)
		}
		checkResult(t, res, 10, "")
	}
}

func TestControlDelayCancelled(t *testing.T) {
	n := nodetest.New(t, lookup(t, "control.delay"), nodetest.Setup{Params: map[string]any{"duration": "1h"}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := n.RunContext(ctx, t, nodetest.In{Values: map[string]any{"x": 1}})
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("err = %v, want ErrCancelled", res.Err)
	}
	if _, set := res.Set["out"]; set {
		t.Error("a cancelled delay set its output")
	}
}

func TestControlDelayParams(t *testing.T) {
	wantParamError(t, buildErr(t, "control.delay", nodetest.Setup{Params: map[string]any{"duration": "1 second"}}), "duration", "invalid duration")
	if err := buildErr(t, "control.delay", nodetest.Setup{}); err == nil {
		t.Error("no duration: no error")
	}
}
