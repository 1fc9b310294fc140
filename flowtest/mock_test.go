package flowtest

import (
	"context"
	"errors"
	"testing"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

type closingNode struct{ closed int }

func (n *closingNode) Run(context.Context, registry.Inputs, registry.Outputs) error { return nil }

func (n *closingNode) Close(context.Context) error { n.closed++; return nil }

// TestStopRecorderKeepsClose checks that the wrapper that records stop
// reasons still lets the engine close the node it wraps, and records the
// reason of an error wrapping registry.ErrStop.
func TestStopRecorderKeepsClose(t *testing.T) {
	inner := &closingNode{}
	n := &graph.Node{ID: "stop", Spec: &registry.Spec{Type: "x.stop", New: func(registry.Config, registry.Env) (registry.Node, error) { return inner, nil }}}
	rec := &stopRecorder{}
	rec.wrap(n)
	node, err := n.Spec.New(registry.Config{}, registry.Env{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := node.(registry.Closer)
	if !ok {
		t.Fatal("the wrapped node is not a registry.Closer")
	}
	if err := c.Close(t.Context()); err != nil || inner.closed != 1 {
		t.Fatalf("Close: %v, inner closed %d times, want once", err, inner.closed)
	}
	stopErr := errors.Join(errors.New("reached 0"), registry.ErrStop)
	rec.record("stop", stopErr)
	if _, ok := rec.reason("stop"); !ok {
		t.Fatal("no reason recorded for an error wrapping ErrStop")
	}
	rec.record("other", errors.New("boom"))
	if _, ok := rec.reason("other"); ok {
		t.Fatal("a reason recorded for an error that is no stop")
	}
}
