package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/registry"
)

// closerNode runs like the "identity" type (out = x, plus the behaviour
// of run) and records its Close in the trace.
type closerNode struct {
	id    string
	tr    *trace
	run   func(ctx context.Context, in registry.Inputs) error
	close func(ctx context.Context) error
}

var _ registry.Closer = (*closerNode)(nil)

func (n *closerNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if n.run != nil {
		if err := n.run(ctx, in); err != nil {
			return err
		}
	}
	out.Set("out", in.Value("x"))
	return nil
}

func (n *closerNode) Close(ctx context.Context) error {
	n.tr.add("close %s", n.id)
	if n.close != nil {
		return n.close(ctx)
	}
	return nil
}

// closerRegistry adds to testRegistry the types "res" (a Closer), "resfail"
// (fails when x >= 3), "resstop" (stops the flow when x >= 3), "reswait"
// (blocks until its run is cancelled, after sending on started),
// "badclose" (Close fails), "hangclose" (Close returns only when release
// is closed) and "badnew" (its constructor fails).
func closerRegistry(tr *trace, started chan<- struct{}, release <-chan struct{}) *registry.Registry {
	reg := testRegistry(tr)
	x := []registry.Input{{Name: "x", HasDefault: true, Default: 0.0}}
	out := []registry.Output{{Name: "out"}}
	add := func(typ string, run func(ctx context.Context, in registry.Inputs) error, closeFn func(context.Context) error) {
		reg.MustRegister(registry.Spec{Type: typ, Inputs: x, Outputs: out,
			New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
				return &closerNode{id: cfg.ID, tr: tr, run: run, close: closeFn}, nil
			}})
	}
	add("res", nil, nil)
	add("resfail", func(_ context.Context, in registry.Inputs) error {
		if num(in.Value("x")) >= 3 {
			return errors.New("boom")
		}
		return nil
	}, nil)
	add("resstop", func(_ context.Context, in registry.Inputs) error {
		if num(in.Value("x")) >= 3 {
			return fmt.Errorf("enough: %w", registry.ErrStop)
		}
		return nil
	}, nil)
	add("reswait", func(ctx context.Context, _ registry.Inputs) error {
		started <- struct{}{}
		<-ctx.Done()
		return context.Cause(ctx)
	}, nil)
	add("badclose", nil, func(context.Context) error { return errors.New("flush failed") })
	add("hangclose", nil, func(context.Context) error { <-release; return nil })
	reg.MustRegister(registry.Spec{Type: "badnew", Outputs: out,
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return nil, errors.New("no such device")
		}})
	return reg
}

// TestCloseOnEveryEnding checks that every node implementing
// registry.Closer is closed exactly once, however the flow ends, in the
// reverse order of first runs, nodes that never ran first.
func TestCloseOnEveryEnding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flow   func(*builder) *builder
		opts   Options
		cancel bool // cancel the caller's context once reswait runs
		reason string
		closes []string
	}{{
		name: "done",
		flow: func(b *builder) *builder {
			return b.node("a", "res").node("b", "res", "x=a").node("c", "res", "x=b")
		},
		reason: ReasonDone,
		closes: []string{"close c", "close b", "close a"},
	}, {
		name: "stopped by a node",
		flow: func(b *builder) *builder {
			return b.node("a", "res", "x<-inc").node("inc", "inc", "x=a").node("s", "resstop", "x=inc")
		},
		reason: ReasonStopped,
		closes: []string{"close s", "close a"},
	}, {
		name: "generation limit",
		flow: func(b *builder) *builder {
			return b.node("a", "res", "x<-inc").node("inc", "inc", "x=a")
		},
		opts:   Options{MaxGenerations: 3},
		reason: ReasonLimit,
		closes: []string{"close a"},
	}, {
		name: "failed",
		flow: func(b *builder) *builder {
			// never runs: its input comes from the node that fails.
			return b.node("a", "res", "x<-inc").node("inc", "inc", "x=a").
				node("f", "resfail", "x=inc").node("after", "res", "x=f.out", "after=f")
		},
		reason: ReasonFailed,
		closes: []string{"close after", "close f", "close a"},
	}, {
		name: "interrupted",
		flow: func(b *builder) *builder {
			return b.node("a", "res").node("w", "reswait", "x=a").node("never", "res", "x=w")
		},
		cancel: true,
		reason: ReasonInterrupted,
		closes: []string{"close never", "close w", "close a"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &trace{}
			started := make(chan struct{}, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				go func() {
					<-started
					cancel()
				}()
			}
			res, err := tt.flow(newBuilder(t, closerRegistry(tr, started, nil))).run(ctx, tt.opts)
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			if res.Reason != tt.reason {
				t.Errorf("reason %q (error %v), want %q", res.Reason, err, tt.reason)
			}
			equal(t, "closes", tr.only("close "), tt.closes)
		})
	}
}

func TestCloseErrorIsReported(t *testing.T) {
	t.Parallel()
	tr := &trace{}
	b := newBuilder(t, closerRegistry(tr, nil, nil)).node("a", "res").node("w", "badclose", "x=a")
	res, err := b.run(t.Context(), Options{})
	var nerr *NodeError
	if !errors.As(err, &nerr) || !nerr.Closing || nerr.Node != "w" {
		t.Fatalf("error %v, want a closing NodeError of w", err)
	}
	if got, want := err.Error(), `test.yaml:2:3: node "w" (badclose) failed to close: flush failed`; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if res.Reason != ReasonDone || res.Generations["w"] != 1 {
		t.Errorf("result %+v: a close error must not change how the flow ended", res)
	}
	equal(t, "closes", tr.only("close "), []string{"close w", "close a"})
}

// TestCloseAfterConstructorFailure: the nodes created before a constructor
// failed are closed, since Run will never be called.
func TestCloseAfterConstructorFailure(t *testing.T) {
	t.Parallel()
	tr := &trace{}
	flow := newBuilder(t, closerRegistry(tr, nil, nil)).
		node("a", "res").node("b", "badclose").node("c", "badnew").node("d", "res").build()
	_, err := New(flow, Options{})
	var nerr *NodeError
	if !errors.As(err, &nerr) || nerr.Node != "c" || nerr.Generation != -1 {
		t.Fatalf("error %v, want c's constructor error first", err)
	}
	if !strings.Contains(err.Error(), `node "b" (badclose) failed to close: flush failed`) {
		t.Errorf("error %q lacks b's close error", err)
	}
	equal(t, "closes", tr.only("close "), []string{"close a", "close b"})
}

// TestCloseTimeout: a Close that ignores its context does not keep Run
// from returning.
func TestCloseTimeout(t *testing.T) {
	t.Parallel()
	tr := &trace{}
	release := make(chan struct{})
	b := newBuilder(t, closerRegistry(tr, nil, release)).node("a", "res").node("h", "hangclose", "x=a")
	res, err := b.run(t.Context(), Options{CloseTimeout: 10 * time.Millisecond})
	// Let the abandoned Close end, for goleak. The send also waits until
	// that Close started (its goroutine may not have run before the
	// deadline on a loaded machine), so that its trace is in.
	select {
	case release <- struct{}{}:
	case <-time.After(time.Minute):
		t.Fatal("the hanging Close was never called")
	}
	var nerr *NodeError
	if !errors.Is(err, errCloseTimeout) || !errors.As(err, &nerr) || nerr.Node != "h" {
		t.Fatalf("error %v, want h's close timeout", err)
	}
	if res.Reason != ReasonDone {
		t.Errorf("reason %q", res.Reason)
	}
	// h is closed first; a, closed after it, still gets its own time.
	if got := tr.only("close "); !slices.Equal(got, []string{"close h", "close a"}) {
		t.Errorf("closes %q", got)
	}
}
