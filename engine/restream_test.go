package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// restreamExecutor runs node p itself: it emits first, waits for wait
// (the readers' progress), calls Restream, signals restreamed, and emits
// second. Other nodes run locally, after their hook if they have one.
type restreamExecutor struct {
	p             string
	first, second []any
	wait          func(ctx context.Context) error
	restreamed    chan struct{}
	hooks         map[string]func(ctx context.Context) error

	mu   sync.Mutex
	runs []string
}

func (e *restreamExecutor) Execute(ctx context.Context, nr NodeRun) error {
	e.mu.Lock()
	e.runs = append(e.runs, fmt.Sprintf("%s@%d", nr.Node.ID, nr.Generation))
	e.mu.Unlock()
	if h := e.hooks[nr.Node.ID]; h != nil {
		if err := h(ctx); err != nil {
			return err
		}
	}
	if nr.Node.ID != e.p {
		return LocalExecutor{}.Execute(ctx, nr)
	}
	for _, c := range e.first {
		if err := nr.Out.Emit(ctx, "out", c); err != nil {
			return err
		}
	}
	if e.wait != nil {
		if err := e.wait(ctx); err != nil {
			return err
		}
	}
	err := nr.Restream("")
	if e.restreamed != nil {
		close(e.restreamed)
	}
	if err != nil {
		return err
	}
	for _, c := range e.second {
		if err := nr.Out.Emit(ctx, "out", c); err != nil {
			return err
		}
	}
	return nil
}

func (e *restreamExecutor) executed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.runs...)
}

// waitFor returns a wait that takes n values from ch.
func waitFor(ch <-chan string, n int) func(context.Context) error {
	return func(ctx context.Context) error {
		for range n {
			select {
			case <-ch:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	}
}

// restreamRegistry adds to testRegistry "watch" (collects a stream,
// sending "<id> got <chunk>" on seen for each chunk), its stateful twin
// "swatch", "first" (returns the first chunk of its stream and leaves the
// rest) and "both" (reads one chunk of a, then all of b, then the rest
// of a, and returns what it read).
func restreamRegistry(seen chan string) *registry.Registry {
	reg := testRegistry(nil)
	out := []registry.Output{{Name: "out"}}
	watch := func(typ string, stateful bool) {
		reg.MustRegister(registry.Spec{Type: typ, Outputs: out, Stateful: stateful,
			Inputs: []registry.Input{{Name: "s", Stream: true}},
			New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
				return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
					list := []any{}
					for c, err := range in.Stream("s").All(ctx) {
						if err != nil {
							return err
						}
						list = append(list, c)
						seen <- fmt.Sprintf("%s got %v", cfg.ID, c)
					}
					o.Set("out", list)
					return nil
				}), nil
			}})
	}
	watch("watch", false)
	watch("swatch", true)
	reg.MustRegister(registry.Spec{Type: "first", Outputs: out,
		Inputs: []registry.Input{{Name: "s", Stream: true}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				c, _, err := in.Stream("s").Next(ctx)
				o.Set("out", c)
				return err
			}), nil
		}})
	reg.MustRegister(registry.Spec{Type: "both", Outputs: out,
		Inputs: []registry.Input{{Name: "a", Stream: true}, {Name: "b", Stream: true}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				a, b := in.Stream("a"), in.Stream("b")
				list := []any{}
				c, ok, err := a.Next(ctx)
				if err != nil {
					return err
				}
				if ok {
					list = append(list, c)
				}
				for c, err := range b.All(ctx) {
					if err != nil {
						return err
					}
					list = append(list, c)
				}
				seen <- fmt.Sprintf("%s read b", cfg.ID)
				for c, err := range a.All(ctx) {
					if err != nil {
						return err
					}
					list = append(list, c)
				}
				o.Set("out", list)
				return nil
			}), nil
		}})
	return reg
}

func TestRestreamBeforeReaderStarts(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	restreamed := make(chan struct{})
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1", "b2"}, restreamed: restreamed,
		// The reader starts only once gate ran, after the restream.
		hooks: map[string]func(context.Context) error{"gate": func(ctx context.Context) error {
			select {
			case <-restreamed:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}}}
	res, err := newBuilder(t, restreamRegistry(seen)).
		node("p", "emit").
		node("gate", "source").
		node("c", "collect", "s=p", "take=gate").
		node("v", "ident", "x=p").
		run(t.Context(), Options{Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["c"]["out"]; !reflect.DeepEqual(got, []any{"b1", "b2"}) {
		t.Errorf("reader got %v, want the new stream [b1 b2]", got)
	}
	if got := res.Final["v"]["out"]; got != "b1b2" {
		t.Errorf("whole-value consumer got %v, want b1b2", got)
	}
	if got := res.Final["p"]["out"]; got != "b1b2" {
		t.Errorf("producer's final value %v, want b1b2", got)
	}
	if !reflect.DeepEqual(res.Generations, map[string]int{"p": 1, "gate": 1, "c": 1, "v": 1}) {
		t.Errorf("generations %v, want one each", res.Generations)
	}
	if n := strings.Count(strings.Join(ex.executed(), " "), "c@"); n != 1 {
		t.Errorf("reader executed %d times (%v), want once: it had not started", n, ex.executed())
	}
}

func TestRestreamRestartsReadingReader(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	var events bytes.Buffer
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1", "b2", "b3"}, wait: waitFor(seen, 2)}
	res, err := newBuilder(t, restreamRegistry(seen)).
		node("p", "emit").
		node("w", "watch", "s=p").
		node("v", "ident", "x=p").
		run(t.Context(), Options{Executor: ex, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["w"]["out"]; !reflect.DeepEqual(got, []any{"b1", "b2", "b3"}) {
		t.Errorf("reader completed on %v, want the new stream [b1 b2 b3]", got)
	}
	if got := res.Final["v"]["out"]; got != "b1b2b3" {
		t.Errorf("whole-value consumer got %v, want b1b2b3", got)
	}
	if res.Generations["w"] != 1 || res.Generations["p"] != 1 {
		t.Errorf("generations %v: the restarted run must count once", res.Generations)
	}
	count := map[string]int{}
	for _, r := range ex.executed() {
		count[r]++
	}
	if !reflect.DeepEqual(count, map[string]int{"p@0": 1, "w@0": 2, "v@0": 1}) {
		t.Errorf("executed %v, want p and v once, and w's generation 1 twice", ex.executed())
	}
	// The event log says which runs started over.
	var restarts []string
	dec := json.NewDecoder(&events)
	for dec.More() {
		var e struct{ Event, Node, By string }
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		if e.Event == "restart" {
			restarts = append(restarts, e.Node+"<"+e.By)
		}
	}
	if !reflect.DeepEqual(restarts, []string{"p<", "w<p"}) {
		t.Errorf("restart events %v, want p's then w's (by p)", restarts)
	}
}

func TestRestreamRestartsAChainOfStreamingNodes(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1", "b2"}, wait: waitFor(seen, 2)}
	res, err := newBuilder(t, restreamRegistry(seen)).
		node("p", "emit").
		node("u", "upper", "s=p").
		node("w", "watch", "s=u").
		node("v", "ident", "x=u").
		run(t.Context(), Options{Executor: ex, KeepFinals: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["w"]["out"]; !reflect.DeepEqual(got, []any{"B1", "B2"}) {
		t.Errorf("reader of the chain completed on %v, want [B1 B2]", got)
	}
	if got := res.Final["v"]["out"]; got != "B1B2" {
		t.Errorf("whole-value consumer of the chain got %v, want B1B2", got)
	}
	if got := res.Final["u"]["out"]; got != "B1B2" {
		t.Errorf("streaming reader's final value %v, want B1B2", got)
	}
	if !reflect.DeepEqual(res.Generations, map[string]int{"p": 1, "u": 1, "w": 1, "v": 1}) {
		t.Errorf("generations %v, want one each", res.Generations)
	}
}

func TestRestreamReplaysValueStreams(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1"}, wait: waitFor(seen, 1)}
	res, err := newBuilder(t, restreamRegistry(seen)).
		node("p", "emit").
		node("src", "source").
		node("c", "both", "a=p", "b=src").
		run(t.Context(), Options{Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	// The stream of a non-streaming producer is read again from its
	// start by the restarted run.
	if got := res.Final["c"]["out"]; !reflect.DeepEqual(got, []any{"b1", 10}) {
		t.Errorf("restarted reader got %v, want [b1 10]", got)
	}
}

func TestRestreamFailsWhenReaderCannotRestart(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		nodes func(b *builder) *builder
		wait  func(seen chan string, after chan struct{}) func(context.Context) error
		hooks func(after chan struct{}) map[string]func(context.Context) error
		want  []string
	}{{
		name: "completed",
		nodes: func(b *builder) *builder {
			return b.node("f", "first", "s=p").node("g", "ident", "x=f")
		},
		// g runs once f completed on the first stream.
		hooks: func(after chan struct{}) map[string]func(context.Context) error {
			return map[string]func(context.Context) error{"g": func(context.Context) error { close(after); return nil }}
		},
		wait: func(_ chan string, after chan struct{}) func(context.Context) error {
			return func(ctx context.Context) error {
				select {
				case <-after:
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
		},
		want: []string{`node "p" was run again and streamed something else`, `node "f" already completed its generation 1`},
	}, {
		name: "another stream",
		nodes: func(b *builder) *builder {
			return b.node("q", "emit", "items:=[x y]").node("c", "both", "a=p", "b=q")
		},
		wait: func(seen chan string, _ chan struct{}) func(context.Context) error { return waitFor(seen, 1) },
		want: []string{`node "c", which reads it, has also read part of node "q"'s stream`},
	}, {
		name:  "stateful",
		nodes: func(b *builder) *builder { return b.node("w", "swatch", "s=p") },
		wait:  func(seen chan string, _ chan struct{}) func(context.Context) error { return waitFor(seen, 1) },
		want:  []string{`node "w", which reads it, keeps state across runs`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := make(chan string, 100)
			after := make(chan struct{})
			ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1"}, wait: tc.wait(seen, after)}
			if tc.hooks != nil {
				ex.hooks = tc.hooks(after)
			}
			res, err := tc.nodes(newBuilder(t, restreamRegistry(seen)).node("p", "emit")).run(t.Context(), Options{Executor: ex})
			if err == nil {
				t.Fatalf("no error; final %v", res.Final)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if res.Reason != ReasonFailed || res.StoppedBy != "p" {
				t.Errorf("reason %s by %q, want failed by p", res.Reason, res.StoppedBy)
			}
		})
	}
}

func TestRestreamRestartsRestartableStatefulReader(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	// ends records how each execution of the reader ended: the cause of
	// its context and the error of its read, and Restarts at its start.
	ends := make(chan string, 10)
	reg := restreamRegistry(seen)
	reg.MustRegister(registry.Spec{Type: "rswatch", Outputs: []registry.Output{{Name: "out"}}, Stateful: true, Restartable: true,
		Inputs: []registry.Input{{Name: "s", Stream: true}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				restarts := registry.Restarts(in)
				list := []any{}
				for c, err := range in.Stream("s").All(ctx) {
					if err != nil {
						ends <- fmt.Sprintf("restarts %d: read error is ErrRestarted: %v, cause is ErrRestarted: %v",
							restarts, errors.Is(err, registry.ErrRestarted), errors.Is(context.Cause(ctx), registry.ErrRestarted))
						return err
					}
					list = append(list, c)
					seen <- fmt.Sprintf("%s got %v", cfg.ID, c)
				}
				ends <- fmt.Sprintf("restarts %d: completed", restarts)
				o.Set("out", list)
				return nil
			}), nil
		}})
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1", "b2", "b3"}, wait: waitFor(seen, 2)}
	var logs syncBuf
	res, err := newBuilder(t, reg).
		node("p", "emit").
		node("w", "rswatch", "s=p").
		run(t.Context(), Options{Executor: ex, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	// The node shows the restart itself (term.chat marks the partial
	// answer): the log says it at debug level only, so that no line lands
	// in the middle of the node's output on a terminal.
	if l := logs.String(); !strings.Contains(l, `level=DEBUG msg="node \"p\"'s generation 1 streams again`) ||
		!strings.Contains(l, `level=DEBUG msg="restarting node \"w\"'s generation 1`) || strings.Contains(l, "level=INFO") {
		t.Errorf("log:\n%s\nwant the restart lines at debug level only", l)
	}
	if got := res.Final["w"]["out"]; !reflect.DeepEqual(got, []any{"b1", "b2", "b3"}) {
		t.Errorf("restartable stateful reader completed on %v, want the new stream [b1 b2 b3]", got)
	}
	if !reflect.DeepEqual(res.Generations, map[string]int{"p": 1, "w": 1}) {
		t.Errorf("generations %v, want one each: the restarted run counts once", res.Generations)
	}
	close(ends)
	var got []string
	for e := range ends {
		got = append(got, e)
	}
	want := []string{
		"restarts 0: read error is ErrRestarted: true, cause is ErrRestarted: true",
		"restarts 1: completed",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reader's executions ended\n%q\nwant\n%q", got, want)
	}
}

func TestRestreamRestartsAReaderOfTwoStreamsOnce(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 100)
	reg := restreamRegistry(seen)
	// pair reads a chunk of a, says so, then the rest of a and all of b.
	reg.MustRegister(registry.Spec{Type: "pair", Outputs: []registry.Output{{Name: "out"}},
		Inputs: []registry.Input{{Name: "a", Stream: true}, {Name: "b", Stream: true}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				a, b := in.Stream("a"), in.Stream("b")
				c, _, err := a.Next(ctx)
				if err != nil {
					return err
				}
				seen <- fmt.Sprintf("%s got %v", cfg.ID, c)
				list := []any{c}
				for _, s := range []registry.Stream{a, b} {
					for c, err := range s.All(ctx) {
						if err != nil {
							return err
						}
						list = append(list, c)
					}
				}
				o.Set("out", list)
				return nil
			}), nil
		}})
	var logs syncBuf
	ex := &restreamExecutor{p: "p", first: []any{"a1", "a2"}, second: []any{"b1", "b2"}, wait: waitFor(seen, 1)}
	res, err := newBuilder(t, reg).
		node("p", "emit").
		node("c", "pair", "a=p", "b=p").
		run(t.Context(), Options{Executor: ex, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["c"]["out"]; !reflect.DeepEqual(got, []any{"b1", "b2", "b1", "b2"}) {
		t.Errorf("reader of both streams completed on %v, want the new stream twice", got)
	}
	if l := logs.String(); !strings.Contains(l, `restarting node \"c\"'s generation 1`) || !strings.Contains(l, "readers_restarted=1") {
		t.Errorf("log %s\nwant c restarted once (readers_restarted=1)", l)
	}
}

// syncBuf is a bytes.Buffer safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
