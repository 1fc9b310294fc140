package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func stateCounterSpec() registry.Spec {
	return registry.Spec{
		Type: "state.counter",
		Doc: "Counts its runs: gives 1 at the first run, 2 at the second, and so on.\n\n" +
			"With the input step it adds step instead of 1 at each run. The count lives in the node " +
			"for the whole flow run.",
		Stateful:   true,
		SavesState: true,
		Inputs: []registry.Input{
			{Name: "step", Type: registry.Number, Default: 1, HasDefault: true, Doc: "What each run adds to the count."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "The count after this run."}},
		Example: "count:\n  type: state.counter\n  after: [tick]\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &counterNode{count: 0}, nil
		},
	}
}

// counterNode counts its runs.
type counterNode struct{ count any }

var _ registry.StateMarshaler = (*counterNode)(nil)

// MarshalState implements registry.StateMarshaler.
func (n *counterNode) MarshalState() ([]byte, error) {
	return marshalValue(map[string]any{"count": n.count})
}

// UnmarshalState implements registry.StateMarshaler.
func (n *counterNode) UnmarshalState(data []byte) error {
	v, err := decodeJSON(data)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	if _, _, _, ok := asNumber(m["count"]); !ok {
		return fmt.Errorf("not a counter's saved state: %s", data)
	}
	n.count = m["count"]
	return nil
}

func (n *counterNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	step, err := numberInput(in, "step")
	if err != nil {
		return err
	}
	c, err := arith('+', n.count, step)
	if err != nil {
		return err
	}
	n.count = c
	out.Set("out", c)
	return nil
}
