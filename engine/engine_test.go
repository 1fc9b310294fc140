package engine

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func TestCycleAlternatesFromDefault(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("a", "inc", "x<-b").
		node("b", "double", "x=a").
		withDefault("a", "x", 0)
	res, err := b.run(t.Context(), Options{NodeLimits: map[string]int{"a": 4}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "trace", tr.get(), []string{"a(0)=1", "b(1)=2", "a(2)=3", "b(3)=6", "a(6)=7", "b(7)=14", "a(14)=15", "b(15)=30"})
	equal(t, "reason", res.Reason, ReasonLimit)
	equal(t, "limit nodes", res.LimitNodes, []string{"a"})
	equal(t, "generations", res.Generations, map[string]int{"a": 4, "b": 4})
	equal(t, "final b", res.Final["b"]["out"], 30.0)
}

func TestSelfLoop(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).node("loop", "inc", "x<-loop").withDefault("loop", "x", 42)
	res, err := b.run(t.Context(), Options{MaxGenerations: 3})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "final", res.Final["loop"]["out"], 45.0)
	equal(t, "trace", tr.get(), []string{"loop(42)=43", "loop(43)=44", "loop(44)=45"})
}

func TestDAGRunsEveryNodeOnce(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("d", "add", "a=b2", "b=c"). // sink first: order in the file does not matter
		node("a", "source").
		node("b1", "ident", "x=a").
		node("b2", "ident", "x=b1").
		node("c", "ident", "x=a")
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reason", res.Reason, ReasonDone)
	equal(t, "generations", res.Generations, map[string]int{"a": 1, "b1": 1, "b2": 1, "c": 1, "d": 1})
	equal(t, "d", res.Final["d"]["out"], 20.0)
	ev := tr.get()
	pos := func(s string) int { return slices.Index(ev, s) }
	if !(pos("a") < pos("b1(10)") && pos("b1(10)") < pos("b2(10)") && pos("a") < pos("c(10)") && pos("b2(10)") < pos("d(10,10)=20") && pos("c(10)") < pos("d(10,10)=20")) {
		t.Errorf("partial order violated: %v", ev)
	}
}

func TestSourcesUpstreamOfACycleRunEachIteration(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("src", "source").
		node("acc", "add", "a=src", "b<-acc").
		node("side", "ident", "x=src").
		withDefault("acc", "b", 0)
	res, err := b.run(t.Context(), Options{NodeLimits: map[string]int{"acc": 3}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "acc runs", tr.only("acc"), []string{"acc(10,0)=10", "acc(10,10)=20", "acc(10,20)=30"})
	equal(t, "generations", res.Generations, map[string]int{"src": 3, "acc": 3, "side": 3})
}

func TestFirstDefaultedNodeStartsTheCycle(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("a", "inc", "x<-b").
		node("b", "double", "x=a").
		withDefault("a", "x", 0).
		withDefault("b", "x", 100) // b has a default too, but a comes first
	if _, err := b.run(t.Context(), Options{MaxGenerations: 2}); err != nil {
		t.Fatal(err)
	}
	equal(t, "trace", tr.get(), []string{"a(0)=1", "b(1)=2", "a(2)=3", "b(3)=6"})
}

func TestStreamingPipeline(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("words", "emit", "items:=[hello world]").
		node("up", "upper", "s=words").
		node("all", "collect", "s=up").
		node("whole", "ident", "x=words").
		node("wholeup", "ident", "x=up")
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "collect", res.Final["all"]["out"], []any{"HELLO", "WORLD"})
	equal(t, "accumulated", res.Final["whole"]["out"], "helloworld")
	equal(t, "accumulated upper", res.Final["wholeup"]["out"], "HELLOWORLD")
	equal(t, "generations", res.Generations, map[string]int{"words": 1, "up": 1, "all": 1, "whole": 1, "wholeup": 1})
}

func TestStreamInputFromValueProducerAndDefault(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("v", "source").
		node("c", "collect", "s=v").
		node("d", "collect")
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "one chunk", res.Final["c"]["out"], []any{10})
	equal(t, "default null is empty", res.Final["d"]["out"], []any{})
}

func TestCancellationPropagatesUpstream(t *testing.T) {
	tr := &trace{}
	// src streams until it is cancelled: the flow ends only if the
	// consumer's cancellation reaches it through pass.
	b := newBuilder(t, testRegistry(tr)).
		node("src", "count", "n:=-1").
		node("pass", "upper", "s=src").
		node("c", "collect", "s=pass", "take:=2").
		node("total", "ident", "x=src")
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "consumer", res.Final["c"]["out"], []any{"0", "1"})
	equal(t, "source cancelled", tr.only("count cancelled"), []string{"count cancelled"})
	// The source's final value is the sum of what it emitted before it
	// was stopped, which its value consumer received.
	if total, ok := res.Final["total"]["out"].(int); !ok || total < 1 {
		t.Errorf("total = %v, want the accumulation of the chunks emitted", res.Final["total"]["out"])
	}
	equal(t, "generations", res.Generations, map[string]int{"src": 1, "pass": 1, "c": 1, "total": 1})
}

func TestEveryConsumerGetsEveryChunk(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("src", "count", "n:=1000").
		node("c1", "drain", "s=src").
		node("c2", "drain", "s=src").
		node("c3", "collect", "s=src")
	// KeepFinals: only stream readers read src, so nothing else needs its
	// accumulation.
	res, err := b.run(t.Context(), Options{KeepFinals: true})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "c1", res.Final["c1"]["out"], 1000)
	equal(t, "c2", res.Final["c2"]["out"], 1000)
	list := res.Final["c3"]["out"].([]any)
	for i, v := range list {
		if v != i {
			t.Fatalf("c3 chunk %d = %v", i, v)
		}
	}
	equal(t, "sum", res.Final["src"]["out"], 999*1000/2)
}

func TestNodeErrorEndsTheFlow(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("c", "inc", "x<-f").
		node("f", "fail", "x=c").
		withDefault("c", "x", 0)
	res, err := b.run(t.Context(), Options{})
	var nerr *NodeError
	if !errors.As(err, &nerr) {
		t.Fatalf("err = %v, want a *NodeError", err)
	}
	equal(t, "node", nerr.Node, "f")
	equal(t, "generation", nerr.Generation, 2)
	equal(t, "pos", nerr.Pos, graph.Pos{File: "test.yaml", Line: 2, Col: 3})
	equal(t, "message", err.Error(), `test.yaml:2:3: node "f" (fail) failed in run 3: boom`)
	equal(t, "reason", res.Reason, ReasonFailed)
}

func TestOnErrorContinue(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("c", "inc", "x<-f").
		node("f", "fail", "x=c").
		withDefault("c", "x", 0)
	b.ids["f"].OnError = "continue"
	res, err := b.run(t.Context(), Options{NodeLimits: map[string]int{"f": 5}})
	if err != nil {
		t.Fatal(err)
	}
	// f fails from x=3 on and outputs null, so c restarts from null+1.
	equal(t, "f runs", tr.only("f("), []string{"f(1)", "f(2)", "f(3)", "f(1)", "f(2)"})
	equal(t, "reason", res.Reason, ReasonLimit)
}

func TestStopEndsCleanly(t *testing.T) {
	tr := &trace{}
	b := newBuilder(t, testRegistry(tr)).
		node("c", "inc", "x<-s").
		node("s", "stop", "x=c").
		withDefault("c", "x", 0)
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reason", res.Reason, ReasonStopped)
	equal(t, "stopped by", res.StoppedBy, "s")
	equal(t, "c runs", res.Generations["c"], 3)
}

func TestPanicBecomesNodeError(t *testing.T) {
	b := newBuilder(t, testRegistry(&trace{})).node("p", "panic")
	_, err := b.run(t.Context(), Options{})
	var nerr *NodeError
	if !errors.As(err, &nerr) || !strings.Contains(nerr.Stack, "helpers_test.go") || !strings.Contains(err.Error(), "panic: kaboom") {
		t.Fatalf("err = %v (stack %q)", err, nerr.Stack)
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	reg := registry.New()
	reg.MustRegister(registry.Spec{Type: "flaky", Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(_ context.Context, _ registry.Inputs, o registry.Outputs) error {
				calls++
				if calls < 3 {
					return errors.New("flake")
				}
				o.Set("out", calls)
				return nil
			}), nil
		}})
	b := newBuilder(t, reg).node("f", "flaky")
	b.ids["f"].Retry = &graph.Retry{Attempts: 3}
	res, err := b.run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "value", res.Final["f"]["out"], 3)
}
