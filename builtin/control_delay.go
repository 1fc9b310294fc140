package builtin

import (
	"context"
	"time"

	"github.com/flowrun/flowrun/registry"
)

func controlDelaySpec() registry.Spec {
	return registry.Spec{
		Type: "control.delay",
		Doc: "Passes its input on after a delay.\n\n" +
			"The run waits for duration, then gives x. When the run is cancelled (the flow stops) it ends at once.",
		Inputs: []registry.Input{
			{Name: "x", Default: nil, HasDefault: true, Doc: "The value to pass on."},
			{Name: "duration", Const: true, Doc: "How long to wait: a number of seconds or a duration such as \"100ms\"."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "x, after the delay."}},
		Example: "later:\n  type: control.delay\n  inputs: {x: value}\n  with: {duration: 1.5s}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			d, err := cfg.Params.Duration("duration")
			if err != nil {
				return nil, err
			}
			return &delayNode{d: d}, nil
		},
	}
}

// delayNode passes x on after a delay.
type delayNode struct{ d time.Duration }

var _ registry.Node = (*delayNode)(nil)

func (n *delayNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	defer endRun(ctx, &err)
	if err := registry.Sleep(ctx, n.d); err != nil {
		return err
	}
	out.Set("out", in.Value("x"))
	return nil
}
