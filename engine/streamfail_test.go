package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// TestFailedProducerEndsItsStreamWithTheError: a producer that fails
// after streaming part of its output ends the flow; its stream reader
// sees the failure at the end of what it read, never a clean end, so it
// cannot complete a run on a partial stream.
func TestFailedProducerEndsItsStreamWithTheError(t *testing.T) {
	read := make(chan struct{})
	var cleanEnd, sawErr atomic.Bool
	reg := registry.New()
	reg.MustRegister(registry.Spec{Type: "failsrc", Streams: true, Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, _ registry.Inputs, out registry.Outputs) error {
				for i := range 2 {
					if err := out.Emit(ctx, "out", i); err != nil {
						return err
					}
				}
				select {
				case <-read:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				return errors.New("boom")
			}), nil
		}})
	reg.MustRegister(registry.Spec{Type: "reader", Inputs: []registry.Input{{Name: "s", Stream: true}},
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
				s, n := in.Stream("s"), 0
				for {
					_, ok, err := s.Next(ctx)
					if err != nil {
						sawErr.Store(true)
						return err
					}
					if !ok {
						cleanEnd.Store(true)
						out.Set("out", n)
						return nil
					}
					if n++; n == 2 {
						close(read)
					}
				}
			}), nil
		}})
	res, err := newBuilder(t, reg).node("src", "failsrc").node("r", "reader", "s=src").run(t.Context(), Options{})
	var nerr *NodeError
	if !errors.As(err, &nerr) || nerr.Node != "src" {
		t.Fatalf("run: %v, want node src's failure", err)
	}
	if cleanEnd.Load() || !sawErr.Load() {
		t.Errorf("the reader saw a clean end: %v, an error: %v; want the error only", cleanEnd.Load(), sawErr.Load())
	}
	if g := res.Generations["r"]; g != 0 {
		t.Errorf("the reader completed %d runs on a partial stream, want 0", g)
	}
}
