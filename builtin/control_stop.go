package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

func controlStopSpec() registry.Spec {
	return registry.Spec{
		Type: "control.stop",
		Doc: "Ends the flow cleanly when its input when is true; otherwise passes x on.\n\n" +
			"Stopping cancels the runs in flight and the flow exits with success; flowrun prints the reason on " +
			"standard error (at info level) and records it in the event log.",
		Inputs: []registry.Input{
			{Name: "x", Default: nil, HasDefault: true, Doc: "The value passed on when the flow goes on."},
			{Name: "when", Type: registry.Boolean, Default: true, HasDefault: true, Doc: "Stop the flow when true."},
			{Name: "reason", Type: registry.String, Const: true, Default: "stop condition reached", HasDefault: true,
				Doc: "Why the flow stops, for the report."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "x, when the flow goes on."}},
		Example: "enough:\n  type: control.stop\n  inputs: {x: count, when: done}\n  with: {reason: \"counted to 10\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			reason, err := cfg.Params.String("reason")
			if err != nil {
				return nil, err
			}
			return &stopNode{reason: reason}, nil
		},
	}
}

// stopNode ends the flow on demand.
type stopNode struct{ reason string }

var _ registry.Node = (*stopNode)(nil)

func (n *stopNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	when, ok := in.Value("when").(bool)
	if !ok {
		return fmt.Errorf("input %q: want a boolean, got %s", "when", registry.Describe(in.Value("when")))
	}
	if when {
		return &registry.StopError{Reason: n.reason}
	}
	out.Set("out", in.Value("x"))
	return nil
}
