package builtin

import (
	"context"
	"errors"
	"time"

	"github.com/flowrun/flowrun/registry"
)

func streamRangeSpec() registry.Spec {
	return registry.Spec{
		Type: "stream.range",
		Doc: "Emits the numbers from start up to (not including) stop, by step, as a stream.\n\n" +
			"Like Python's range: a negative step counts down, and an empty range emits nothing. " +
			"Integers stay integers; with a fractional start or step the numbers are start + i*step. " +
			"A step of 0 is an error. The final value is the sum of the numbers.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "start", Type: registry.Number, Default: 0, HasDefault: true, Doc: "The first number."},
			{Name: "stop", Type: registry.Number, Doc: "The bound, not included."},
			{Name: "step", Type: registry.Number, Default: 1, HasDefault: true, Doc: "The difference between consecutive numbers; not 0."},
			{Name: "delay", Const: true, Default: 0, HasDefault: true,
				Doc: "Wait before each chunk: a number of seconds or a duration such as \"10ms\"."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.Number, Doc: "One chunk per number."}},
		Example: "numbers:\n  type: stream.range\n  with: {start: 0, stop: 5}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			delay, err := cfg.Params.Duration("delay")
			if err != nil {
				return nil, err
			}
			return &rangeNode{delay: delay}, nil
		},
	}
}

// rangeNode emits a range of numbers.
type rangeNode struct{ delay time.Duration }

var _ registry.Node = (*rangeNode)(nil)

func (n *rangeNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	defer endRun(ctx, &err)
	var nums [3]any
	for i, name := range []string{"start", "stop", "step"} {
		v, err := numberInput(in, name)
		if err != nil {
			return err
		}
		nums[i] = v
	}
	startF, start, startInt, _ := asNumber(nums[0])
	stopF, _, _, _ := asNumber(nums[1])
	stepF, step, stepInt, _ := asNumber(nums[2])
	if stepF == 0 {
		return errors.New(`input "step": step must not be 0`)
	}
	for i := 0; ; i++ {
		var v any
		var f float64
		if startInt && stepInt {
			x := start + i*step
			v, f = x, float64(x)
		} else {
			f = startF + float64(i)*stepF
			v = f
		}
		if (stepF > 0 && f >= stopF) || (stepF < 0 && f <= stopF) {
			return nil
		}
		if err := registry.Sleep(ctx, n.delay); err != nil {
			return err
		}
		if err := out.Emit(ctx, "out", v); err != nil {
			return err
		}
	}
}
