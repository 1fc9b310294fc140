package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

// A FailError is the error of a control.fail node: its Error is the
// node's message, unchanged.
type FailError struct {
	Message string
}

func (e *FailError) Error() string { return e.Message }

func controlFailSpec() registry.Spec {
	return registry.Spec{
		Type: "control.fail",
		Doc: "Fails the run with a message when its input when is true; otherwise passes x on.\n\n" +
			"With the default when (true) every run fails: use it to test error handling. Connected to a " +
			"condition (for example a math.compare), it ends a cycle with an error, as Flowno's examples do.",
		Inputs: []registry.Input{
			{Name: "message", Type: registry.String, Const: true, Default: "failed", HasDefault: true, Doc: "The error message."},
			{Name: "x", Default: nil, HasDefault: true, Doc: "The value passed on when the node does not fail."},
			{Name: "when", Type: registry.Boolean, Default: true, HasDefault: true, Doc: "Fail when true."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "x, when the node does not fail."}},
		Example: "guard:\n  type: control.fail\n  inputs: {x: sum, when: too_big}\n  with: {message: \"stop at 3\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			msg, err := cfg.Params.String("message")
			if err != nil {
				return nil, err
			}
			return &failNode{message: msg}, nil
		},
	}
}

// failNode fails on demand.
type failNode struct{ message string }

var _ registry.Node = (*failNode)(nil)

func (n *failNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	when, ok := in.Value("when").(bool)
	if !ok {
		return fmt.Errorf("input %q: want a boolean, got %s", "when", registry.Describe(in.Value("when")))
	}
	if when {
		return &FailError{Message: n.message}
	}
	out.Set("out", in.Value("x"))
	return nil
}
