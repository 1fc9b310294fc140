package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func stateAccumulatorSpec() registry.Spec {
	return registry.Spec{
		Type: "state.accumulator",
		Doc: "Keeps a running total of its input across runs.\n\n" +
			"The first run gives x; each later run adds x to the total like math.add: numbers add, " +
			"strings and lists concatenate. A value of another kind than the total is an error.",
		Stateful:   true,
		SavesState: true,
		Inputs: []registry.Input{
			{Name: "x", Doc: "The value to add to the total."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "The total after this run."}},
		Example: "total:\n  type: state.accumulator\n  inputs: {x: amount}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &accumulatorNode{}, nil
		},
	}
}

// accumulatorNode keeps a running total.
type accumulatorNode struct {
	total   any
	started bool
}

var _ registry.StateMarshaler = (*accumulatorNode)(nil)

// MarshalState implements registry.StateMarshaler.
func (n *accumulatorNode) MarshalState() ([]byte, error) {
	return marshalValue(map[string]any{"total": n.total, "started": n.started})
}

// UnmarshalState implements registry.StateMarshaler.
func (n *accumulatorNode) UnmarshalState(data []byte) error {
	v, err := decodeJSON(data)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	started, ok := m["started"].(bool)
	if !ok {
		return fmt.Errorf("not an accumulator's saved state: %s", data)
	}
	n.total, n.started = m["total"], started
	return nil
}

func (n *accumulatorNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	x := in.Value("x")
	if !n.started {
		n.total, n.started = x, true
		out.Set("out", x)
		return nil
	}
	total, err := add(n.total, x)
	if err != nil {
		return err
	}
	n.total = total
	out.Set("out", total)
	return nil
}
