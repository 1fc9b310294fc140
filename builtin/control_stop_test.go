package builtin

import (
	"errors"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestControlStop(t *testing.T) {
	n := nodetest.New(t, lookup(t, "control.stop"), nodetest.Setup{Params: map[string]any{"reason": "counted to 3"}})
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"x": 2, "when": false}}), 2, "")
	res := n.Run(t, nodetest.In{Values: map[string]any{"x": 3, "when": true}})
	if !errors.Is(res.Err, registry.ErrStop) || res.Err.Error() != "counted to 3: "+registry.ErrStop.Error() {
		t.Errorf("err = %v, want ErrStop with the reason", res.Err)
	}
	if se := (*registry.StopError)(nil); !errors.As(res.Err, &se) || se.Reason != "counted to 3" {
		t.Errorf("err = %#v, want a registry.StopError with the reason", res.Err)
	}
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"when": nil}}), nil, `input "when": want a boolean, got null`)
	if res := nodetest.New(t, lookup(t, "control.stop"), nodetest.Setup{}).Run(t, nodetest.In{}); !errors.Is(res.Err, registry.ErrStop) {
		t.Errorf("default when: err = %v, want ErrStop", res.Err)
	}
}
