package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/registry"
	"go.uber.org/goleak"
)

// streamingCycle: emit streams the list it got back from collect, through
// an upper-casing stream map; emit starts from its default.
func streamingCycle(t testing.TB, tr *trace) *builder {
	return newBuilder(t, testRegistry(tr)).
		node("streamed", "emit", "items<-all").
		node("up", "upper", "s=streamed").
		node("all", "collect", "s=up").
		withDefault("streamed", "items", []any{"a", "b"})
}

func TestStreamingCycle(t *testing.T) {
	tr := &trace{}
	res, err := streamingCycle(t, tr).run(t.Context(), Options{NodeLimits: map[string]int{"all": 3}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "all", res.Final["all"]["out"], []any{"A", "B"})
	// all stops after 3 runs; its last value is still processed by the
	// nodes it feeds (streamed and up run a 4th time), then nothing can run.
	equal(t, "generations", res.Generations, map[string]int{"streamed": 4, "up": 4, "all": 3})
	equal(t, "emits", tr.only("streamed yield"), []string{
		"streamed yield a", "streamed yield b", "streamed yield A", "streamed yield B",
		"streamed yield A", "streamed yield B", "streamed yield A", "streamed yield B"})
}

func TestManyStreamingCycleRunsLeaveNoGoroutines(t *testing.T) {
	res, err := streamingCycle(t, nil).run(t.Context(), Options{MaxGenerations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "generations", res.Generations, map[string]int{"streamed": 1000, "up": 1000, "all": 1000})
	if res.Reason != ReasonLimit {
		t.Errorf("reason %q", res.Reason)
	}
	for range 50 {
		if _, err := streamingCycle(t, nil).run(t.Context(), Options{MaxGenerations: 20}); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t)
}

// seqjoin reads stream a to its end, then stream b: the reading order that
// deadlocks a runner whose buffers block producers of unread streams.
func seqjoinType(reg *registry.Registry) {
	reg.MustRegister(registry.Spec{Type: "seqjoin", Outputs: []registry.Output{{Name: "out"}},
		Inputs: []registry.Input{{Name: "a", Stream: true}, {Name: "b", Stream: true}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				total := 0.0
				for _, name := range []string{"a", "b"} {
					s := in.Stream(name)
					for {
						c, ok, err := s.Next(ctx)
						if err != nil {
							return err
						}
						if !ok {
							break
						}
						total += num(c)
					}
				}
				o.Set("out", total)
				return nil
			}), nil
		}})
	reg.MustRegister(registry.Spec{Type: "fork", Streams: true, Outputs: []registry.Output{{Name: "out"}},
		Inputs: []registry.Input{{Name: "s", Stream: true}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				s := in.Stream("s")
				for {
					c, ok, err := s.Next(ctx)
					if err != nil || !ok {
						return err
					}
					if err := o.Emit(ctx, "out", num(c)); err != nil {
						return err
					}
				}
			}), nil
		}})
}

// TestForkJoinTreeCompletes builds the shape of Flowno's
// tests/test_known_concurrency_bug.py: a binary tree of streaming forks
// whose joins read their two streams one after the other, with joins
// feeding the stream inputs of the next level. Flowno hangs on it.
func TestForkJoinTreeCompletes(t *testing.T) {
	reg := testRegistry(nil)
	seqjoinType(reg)
	const chunks = 1000 // well over the stream buffer
	b := newBuilder(t, reg).node("src", "count", fmt.Sprintf("n:=%d", chunks))
	level := []string{"src"}
	for depth := 0; depth < 3; depth++ {
		var next []string
		for i, p := range level {
			l, r, j := fmt.Sprintf("l%d_%d", depth, i), fmt.Sprintf("r%d_%d", depth, i), fmt.Sprintf("j%d_%d", depth, i)
			b.node(l, "fork", "s="+p).node(r, "fork", "s="+p).node(j, "seqjoin", "a="+l, "b="+r)
			next = append(next, j, j)
		}
		level = next[:len(next)/2+1]
	}
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Level 0 sums 2 × 0..999; each next level doubles its input.
	want := 2.0 * chunks * (chunks - 1) / 2
	equal(t, "j0_0", res.Final["j0_0"]["out"], want)
	equal(t, "j1_0", res.Final["j1_0"]["out"], 2*want)
	equal(t, "j2_0", res.Final["j2_0"]["out"], 4*want)
}

// perNode extracts, from an event log, each node's sequence of start and
// end events without the global sequence number.
func perNode(t *testing.T, log []byte) map[string][]string {
	seqs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad event line %q: %v", sc.Text(), err)
		}
		delete(ev, "seq")
		line, _ := json.Marshal(ev)
		node := ev["node"].(string)
		seqs[node] = append(seqs[node], string(line))
	}
	return seqs
}

func TestDeterministicRunSequences(t *testing.T) {
	var first map[string][]string
	for i := range 20 {
		var log bytes.Buffer
		b := newBuilder(t, testRegistry(nil)).
			node("src", "source").
			node("acc", "add", "a=src", "b<-acc").
			node("side", "plusone", "x=src").
			node("side2", "plusone", "x=side").
			node("words", "emit", "items:=[x y z]").
			node("up", "upper", "s=words").
			node("all", "collect", "s=up").
			withDefault("acc", "b", 0)
		if _, err := b.run(t.Context(), Options{NodeLimits: map[string]int{"acc": 50}, Events: &log}); err != nil {
			t.Fatal(err)
		}
		seqs := perNode(t, log.Bytes())
		if i == 0 {
			first = seqs
			if len(seqs["side2"]) != 100 {
				t.Fatalf("side2 has %d events, want 100", len(seqs["side2"]))
			}
			continue
		}
		for node, want := range first {
			equal(t, fmt.Sprintf("run %d, node %s", i, node), seqs[node], want)
		}
	}
}

func TestEventLog(t *testing.T) {
	var log bytes.Buffer
	b := newBuilder(t, testRegistry(nil)).
		node("w", "emit", "items:=[a b]").
		node("i", "identity", "x=w")
	if _, err := b.run(t.Context(), Options{Events: &log}); err != nil {
		t.Fatal(err)
	}
	want := `{"seq":1,"event":"start","node":"w","run":1,"inputs":{"items":["a","b"]}}
{"seq":2,"event":"chunk","node":"w","run":1,"output":"out","value":"a"}
{"seq":3,"event":"chunk","node":"w","run":1,"output":"out","value":"b"}
{"seq":4,"event":"end","node":"w","run":1,"outputs":{"out":"ab"}}
{"seq":5,"event":"start","node":"i","run":1,"inputs":{"x":"ab"}}
{"seq":6,"event":"end","node":"i","run":1,"outputs":{"out":"ab"}}
`
	equal(t, "events", log.String(), want)
}

func TestAfterOrdersRuns(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("tick", "inc", "x<-tick").
		node("log", "source", "after=tick").
		withDefault("tick", "x", 0)
	res, err := b.run(t.Context(), Options{NodeLimits: map[string]int{"tick": 3}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "generations", res.Generations, map[string]int{"tick": 3, "log": 3})
	ev := tr.get()
	for i, e := range ev {
		if e == "log" && (i == 0 || !strings.HasPrefix(ev[i-1], "tick") && ev[i-1] != "log") {
			t.Errorf("log ran before any tick: %v", ev)
		}
	}
}

// blockingType registers "block", a streaming node that emits one chunk,
// reports it on started and then streams nothing until cancelled, and
// "reader", which reports each chunk it reads.
func blockingType(reg *registry.Registry, started chan<- struct{}) {
	reg.MustRegister(registry.Spec{Type: "block", Streams: true, Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, _ registry.Inputs, o registry.Outputs) error {
				if err := o.Emit(ctx, "out", "partial"); err != nil {
					return err
				}
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}), nil
		}})
}

func TestCancelledContextInterrupts(t *testing.T) {
	reg := testRegistry(nil)
	started := make(chan struct{}, 1)
	blockingType(reg, started)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	res, err := newBuilder(t, reg).node("answer", "block").node("shown", "collect", "s=answer").run(ctx, Options{})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	equal(t, "reason", res.Reason, ReasonInterrupted)
}

// signalHandler passes log records to a channel.
type signalHandler struct{ records chan<- slog.Record }

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.records <- r:
	default:
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

func TestStallReport(t *testing.T) {
	reg := testRegistry(nil)
	started := make(chan struct{}, 1)
	blockingType(reg, started)
	records := make(chan slog.Record, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	flow := newBuilder(t, reg).node("answer", "block").node("shown", "collect", "s=answer").build()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, flow, Options{StallTimeout: 20 * time.Millisecond, Logger: slog.New(signalHandler{records})})
		done <- err
	}()
	for rec := range records {
		if !strings.HasPrefix(rec.Message, "flow stalled") {
			continue
		}
		var waits string
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "waits" {
				waits = a.Value.String()
			}
			return true
		})
		if !strings.Contains(waits, "answer is in run 1") || !strings.Contains(waits, `shown is in run 1, waiting for a chunk from answer on "s"`) {
			t.Errorf("stall report %q", waits)
		}
		break
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Errorf("err = %v", err)
	}
}

// linesType registers "lines", a live source giving one item of its list
// per run and ErrDone after the last.
func linesType(reg *registry.Registry, items ...any) {
	reg.MustRegister(registry.Spec{Type: "lines", Live: true, Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			i := 0
			return funcNode(func(_ context.Context, _ registry.Inputs, o registry.Outputs) error {
				if i == len(items) {
					return fmt.Errorf("end of input: %w", registry.ErrDone)
				}
				o.Set("out", items[i])
				i++
				return nil
			}), nil
		}})
}

func TestLiveSourceRunsUntilDone(t *testing.T) {
	tr := &trace{}
	reg := testRegistry(tr)
	linesType(reg, "a", "b", "c")
	var log bytes.Buffer
	res, err := newBuilder(t, reg).
		node("in", "lines").
		node("echo", "ident", "x=in").
		run(t.Context(), Options{Events: &log})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "echo", tr.only("echo"), []string{"echo(a)", "echo(b)", "echo(c)"})
	// The run that found nothing more is discarded.
	equal(t, "generations", res.Generations, map[string]int{"in": 3, "echo": 3})
	equal(t, "reason", res.Reason, ReasonDone)
}
