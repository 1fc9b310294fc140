package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStateCounter(t *testing.T) {
	n := nodetest.New(t, lookup(t, "state.counter"), nodetest.Setup{})
	for want := 1; want <= 3; want++ {
		checkResult(t, n.Run(t, nodetest.In{}), want, "")
	}
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"step": 0.5}}), 3.5, "")
	checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"step": "1"}}), nil, `input "step": want a number`)

	// Each node has its own count.
	other := nodetest.New(t, lookup(t, "state.counter"), nodetest.Setup{Params: map[string]any{"step": 10}})
	checkResult(t, other.Run(t, nodetest.In{}), 10, "")
}
