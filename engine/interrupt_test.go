package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// interruptTypes registers, besides blockingType's "block":
//
//   - "answer": an interruptible stream like llm.chat's answer. It emits
//     "partial", reports on started, waits until cancelled and, when an
//     interrupt cut it, sets "partial [interrupted]" unless its "mark"
//     input is "no".
//   - "tty": a node that reads the terminal and is done at once.
//   - "prompt": a node that reads the terminal, reports on waiting and
//     waits for a line that never comes (until cancelled).
//   - "slowstop": reports on started, waits until cancelled and then for
//     release before it returns, as a node that takes time to shut down.
func interruptTypes(reg *registry.Registry, started, waiting chan<- struct{}, release <-chan struct{}) {
	blockingType(reg, started)
	out := []registry.Output{{Name: "out"}}
	reg.MustRegister(registry.Spec{Type: "answer", Streams: true, Interruptible: true, Outputs: out,
		Inputs: []registry.Input{{Name: "mark", HasDefault: true, Default: "yes"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				if err := o.Emit(ctx, "out", "partial"); err != nil {
					return err
				}
				started <- struct{}{}
				<-ctx.Done()
				if errors.Is(context.Cause(ctx), registry.ErrInterrupted) && in.Value("mark") != "no" {
					o.Set("out", "partial [interrupted]")
				}
				return context.Cause(ctx)
			}), nil
		}})
	terminal := []registry.Effect{registry.Terminal}
	reg.MustRegister(registry.Spec{Type: "tty", Effects: terminal, Outputs: out,
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(context.Context, registry.Inputs, registry.Outputs) error { return nil }), nil
		}})
	reg.MustRegister(registry.Spec{Type: "prompt", Effects: terminal, Outputs: out,
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, _ registry.Inputs, _ registry.Outputs) error {
				waiting <- struct{}{}
				<-ctx.Done()
				return context.Cause(ctx)
			}), nil
		}})
	reg.MustRegister(registry.Spec{Type: "slowstop", Outputs: out,
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, _ registry.Inputs, _ registry.Outputs) error {
				started <- struct{}{}
				<-ctx.Done()
				<-release
				return ctx.Err()
			}), nil
		}})
}

// interruptFlow is a test's flow, with the channels of interruptTypes.
type interruptFlow struct {
	*builder
	started, waiting chan struct{}
	release          chan struct{}
}

func newInterruptFlow(t *testing.T) *interruptFlow {
	f := &interruptFlow{started: make(chan struct{}, 4), waiting: make(chan struct{}, 4), release: make(chan struct{})}
	reg := testRegistry(nil)
	interruptTypes(reg, f.started, f.waiting, f.release)
	f.builder = newBuilder(t, reg)
	return f
}

// run starts the flow, calls during once the runs are as the test wants
// them (after wait), and returns what Run returned and what during did.
func (f *interruptFlow) run(opts Options, wait func(), during func(r *Runner) Interruption) (*Result, Interruption, error) {
	f.t.Helper()
	r, err := New(f.build(), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	did := make(chan Interruption, 1)
	go func() {
		wait()
		did <- during(r)
	}()
	res, err := r.Run(f.t.(*testing.T).Context())
	return res, <-did, err
}

var interactive = Options{Env: registry.Env{Interactive: true}}

// The repro of issue 8 §1: a stream cut by SIGINT used to reach file.write
// as null. In a flow that is not interactive an interrupt stops the flow:
// the cut runs pass nothing on, and a second interrupt while the flow
// shuts down changes nothing.
func TestInterruptStopsAFlowThatIsNotInteractive(t *testing.T) {
	for _, withTerminalNode := range []bool{false, true} {
		f := newInterruptFlow(t)
		f.node("src", "block").
			node("joined", "drain", "s=src"). // ends with the interrupted stream's error
			node("write", "identity", "x=joined").
			node("shutdown", "slowstop")
		if withTerminalNode {
			// A terminal reader whose Env is not a terminal (a pipe)
			// makes no session.
			f.node("tty", "tty")
		}
		var events bytes.Buffer
		var later [2]Interruption
		res, first, err := f.run(Options{Events: &events}, func() { <-f.started; <-f.started }, func(r *Runner) Interruption {
			first := r.Interrupt()
			later[0] = r.Interrupt() // while "shutdown" still runs
			r.Stop()
			later[1] = r.Interrupt()
			close(f.release)
			return first
		})
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err = %v, want ErrInterrupted", err)
		}
		equal(t, "first interrupt", first, InterruptStopped)
		equal(t, "later interrupts", later, [2]Interruption{InterruptIgnored, InterruptIgnored})
		equal(t, "reason", res.Reason, ReasonInterrupted)
		equal(t, "write's runs", res.Generations["write"], 0)
		equal(t, "joined's runs", res.Generations["joined"], 0)
		if _, ok := res.Final["joined"]; ok {
			t.Errorf("the cut run of joined is in Result.Final: %v", res.Final["joined"])
		}
		if strings.Contains(events.String(), `"node":"write"`) {
			t.Errorf("write ran:\n%s", events.String())
		}
		if !strings.Contains(events.String(), `{"seq":`) || !strings.Contains(events.String(), `"node":"joined","run":1,"cut":true}`) {
			t.Errorf("no cut end record for joined:\n%s", events.String())
		}
	}
}

// In an interactive flow an interrupt cuts the interruptible run in
// flight: its value consumers get what it chose to give, its stream
// readers the chunks and then the end of the stream with ErrInterrupted,
// and the flow goes on.
func TestInterruptInAnInteractiveFlowCutsTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		mark, want string
	}{
		{"yes", "partial [interrupted]"}, // what the node set
		{"no", "partial"},                // it set nothing: what it emitted
	} {
		f := newInterruptFlow(t)
		f.node("tty", "tty").
			node("reply", "answer", "mark:="+tc.mark).
			node("shown", "collect", "s=reply"). // keeps what arrived
			node("history", "identity", "x=reply")
		res, interrupted, err := f.run(interactive, func() { <-f.started }, (*Runner).Interrupt)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "interrupt", interrupted, InterruptCut)
		equal(t, "reason", res.Reason, ReasonDone)
		equal(t, "history", res.Final["history"]["out"], tc.want)
		equal(t, "shown", res.Final["shown"]["out"], []any{"partial"})
	}
}

// A run that ended only because an interrupted stream reached it gives
// nothing: with a value consumer the flow stops rather than hand it a cut
// value; without one the flow goes on and its final value stays unset.
func TestInterruptNeverPassesACutValueOn(t *testing.T) {
	t.Run("a value consumer", func(t *testing.T) {
		f := newInterruptFlow(t)
		f.node("tty", "tty").
			node("reply", "answer").
			node("count", "drain", "s=reply"). // returns the stream's ErrInterrupted
			node("write", "identity", "x=count")
		res, _, err := f.run(interactive, func() { <-f.started }, (*Runner).Interrupt)
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err = %v, want ErrInterrupted", err)
		}
		equal(t, "write's runs", res.Generations["write"], 0)
	})
	t.Run("stream readers only", func(t *testing.T) {
		f := newInterruptFlow(t)
		f.node("tty", "tty").
			node("reply", "answer").
			node("count", "drain", "s=reply")
		res, _, err := f.run(interactive, func() { <-f.started }, (*Runner).Interrupt)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "reason", res.Reason, ReasonDone)
		equal(t, "count's runs", res.Generations["count"], 1)
		equal(t, "count's final", res.Final["count"]["out"], nil)
	})
}

// In an interactive flow, an interrupt while only the terminal readers run
// (the user is at a prompt) ends the flow cleanly; one while other work
// that cannot be interrupted runs stops it.
func TestInterruptWithNothingToCut(t *testing.T) {
	t.Run("at the prompt", func(t *testing.T) {
		f := newInterruptFlow(t)
		f.node("ask", "prompt")
		res, interrupted, err := f.run(interactive, func() { <-f.waiting }, (*Runner).Interrupt)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "interrupt", interrupted, InterruptEnded)
		equal(t, "reason", res.Reason, ReasonStopped)
		equal(t, "stopped by", res.StoppedBy, "")
	})
	t.Run("other work", func(t *testing.T) {
		f := newInterruptFlow(t)
		f.node("ask", "prompt").node("work", "block")
		res, interrupted, err := f.run(interactive, func() { <-f.waiting; <-f.started }, (*Runner).Interrupt)
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err = %v, want ErrInterrupted", err)
		}
		equal(t, "interrupt", interrupted, InterruptStopped)
		equal(t, "reason", res.Reason, ReasonInterrupted)
	})
}
