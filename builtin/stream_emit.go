package builtin

import (
	"context"
	"fmt"
	"time"

	"github.com/flowrun/flowrun/registry"
)

func streamEmitSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.emit",
		Doc: "Emits the elements of a list one by one, as a stream.\n\n" +
			"Each run emits one chunk per element of items, waiting delay before each chunk. " +
			"The final value is the accumulation of the chunks (strings concatenate, numbers add, lists concatenate, " +
			"else the list of chunks) unless the parameter final gives an explicit one; a final of null means the accumulation.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "items", Type: registry.Array, Doc: "The list whose elements are emitted."},
			{Name: "delay", Const: true, Default: 0, HasDefault: true,
				Doc: "Wait before each chunk: a number of seconds or a duration such as \"10ms\"."},
			{Name: "final", Const: true, Default: nil, HasDefault: true,
				Doc: "The run's explicit final value; null means the accumulation of the chunks."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "One chunk per element."}},
		Example: "words:\n  type: stream.emit\n  with: {items: [hello, world], delay: 10ms}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			delay, err := cfg.Params.Duration("delay")
			if err != nil {
				return nil, err
			}
			return &emitNode{delay: delay, final: cfg.Params["final"]}, nil
		},
	}
}

// emitNode emits a list's elements.
type emitNode struct {
	delay time.Duration
	final any
}

var _ registry.Node = (*emitNode)(nil)

func (n *emitNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	defer endRun(ctx, &err)
	items, ok := in.Value("items").([]any)
	if !ok && in.Value("items") != nil {
		return fmt.Errorf("input %q: want a list, got %s", "items", registry.Describe(in.Value("items")))
	}
	if n.final != nil {
		out.Set("out", n.final)
	}
	for _, item := range items {
		if err := registry.Sleep(ctx, n.delay); err != nil {
			return err
		}
		if err := out.Emit(ctx, "out", item); err != nil {
			return err
		}
	}
	return nil
}
