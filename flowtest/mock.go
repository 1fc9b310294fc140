package flowtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowrun/flowrun/registry"
)

// mockSpec returns the declaration that replaces a mocked node's: the same
// inputs and outputs (the flow was loaded and checked with the real type,
// so its wiring holds), streaming when the real type streams or the script
// streams, and a constructor that plays the script.
func mockSpec(real *registry.Spec, m *mock) *registry.Spec {
	spec := *real
	spec.Doc = "A mock of " + real.Type + " (flowrun test)."
	spec.Live = false
	spec.Check = nil
	streams := real.Streams
	for _, r := range m.runs {
		streams = streams || len(r.stream) > 0
	}
	spec.Streams = streams
	spec.New = func(cfg registry.Config, env registry.Env) (registry.Node, error) {
		return &mockNode{m: m, spec: &spec}, nil
	}
	return &spec
}

// A mockNode plays a mock's script, one scripted run per run.
type mockNode struct {
	m    *mock
	spec *registry.Spec
	n    int
}

// Run drains the node's stream inputs, as the real node would read them,
// then streams the run's chunks, sets its outputs, and fails or stops the
// flow if the script says so.
func (mn *mockNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	for _, input := range mn.spec.Inputs {
		if !input.Stream {
			continue
		}
		s := in.Stream(input.Name)
		for {
			_, ok, err := s.Next(ctx)
			if !ok || err != nil {
				break
			}
		}
	}
	mn.n++
	run := mn.m.every
	if run == nil {
		if mn.n > len(mn.m.runs) {
			return fmt.Errorf("mock %q has no run %d: its script has %d %s (%s); add runs, or set max_generations",
				mn.m.id, mn.n, len(mn.m.runs), plural(len(mn.m.runs), "run", "runs"), mn.m.pos)
		}
		run = mn.m.runs[mn.n-1]
	}
	emitted := map[string]bool{}
	for _, c := range run.stream {
		if err := out.Emit(ctx, c.output, c.value); err != nil {
			return err
		}
		emitted[c.output] = true
	}
	for _, o := range run.outputs {
		// A streaming type's consumers read its outputs as streams: an
		// output that got no chunk is emitted as one, as llm.chat emits
		// its usage, so stream readers see the value.
		if mn.spec.Streams && !emitted[o.output] && o.value != nil {
			if err := out.Emit(ctx, o.output, o.value); err != nil {
				return err
			}
		}
		out.Set(o.output, o.value)
	}
	switch {
	case run.err != "":
		return errors.New(run.err)
	case run.stop != "":
		return &registry.StopError{Reason: run.stop}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
