package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// twoOutputs registers "answer": a streaming type like llm.chat, which
// streams "items" on out and sets note to its "note" input (when it is
// not null) without emitting on it.
func twoOutputs(reg *registry.Registry) {
	reg.MustRegister(registry.Spec{Type: "answer", Streams: true,
		Inputs:  []registry.Input{{Name: "items"}, {Name: "note", HasDefault: true}},
		Outputs: []registry.Output{{Name: "out"}, {Name: "note"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				items, _ := in.Value("items").([]any)
				for _, it := range items {
					if err := o.Emit(ctx, "out", it); err != nil {
						return err
					}
				}
				if !in.Defaulted("note") {
					o.Set("note", in.Value("note"))
				}
				return nil
			}), nil
		}})
}

func TestStreamInputOnAnOutputThatWasOnlySet(t *testing.T) {
	for _, tc := range []struct {
		name string
		note string // the binding of note, "" for none
		want []any
	}{
		{"set to a value: one chunk", "note:=thinking", []any{"thinking"}},
		{"set to null: nothing", "note:=null", []any{}},
		{"never set: nothing", "", []any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testRegistry(nil)
			twoOutputs(reg)
			bindings := []string{"items:=[a b]"}
			if tc.note != "" {
				bindings = append(bindings, tc.note)
			}
			var events bytes.Buffer
			res, err := newBuilder(t, reg).
				node("p", "answer", bindings...).
				node("notes", "collect", "s=p.note").
				node("chunks", "collect", "s=p.out").
				run(t.Context(), Options{Events: &events})
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "stream of note", res.Final["notes"]["out"], tc.want)
			// The output that was emitted streams its chunks, not its
			// final value.
			equal(t, "stream of out", res.Final["chunks"]["out"], []any{"a", "b"})
			// The chunk stands for the value: the event log has no chunk
			// event for it.
			if strings.Contains(events.String(), `"output":"note"`) {
				t.Errorf("a chunk event for note:\n%s", events.String())
			}
		})
	}
}

func TestStopReasonIsReported(t *testing.T) {
	reg := testRegistry(nil)
	reg.MustRegister(registry.Spec{Type: "enough", Inputs: []registry.Input{{Name: "x"}},
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(context.Context, registry.Inputs, registry.Outputs) error {
				return &registry.StopError{Reason: "counted to 3"}
			}), nil
		}})
	var events bytes.Buffer
	res, err := newBuilder(t, reg).
		node("a", "inc", "x<-b").
		node("b", "ident", "x=a").
		node("s", "enough", "x=b").
		withDefault("a", "x", 0).
		run(t.Context(), Options{Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reason", res.Reason, ReasonStopped)
	equal(t, "stopped by", res.StoppedBy, "s")
	equal(t, "stop reason", res.StopReason, "counted to 3")
	var end map[string]any
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e["event"] == "end" && e["node"] == "s" {
			end = e
		}
	}
	equal(t, "end record of s", end["stop"], "counted to 3")
}

func TestPlainStopHasNoReason(t *testing.T) {
	var events bytes.Buffer
	res, err := newBuilder(t, testRegistry(nil)).
		node("a", "inc", "x<-b").
		node("b", "stop", "x=a").
		withDefault("a", "x", 0).
		run(t.Context(), Options{Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reason", res.Reason, ReasonStopped)
	equal(t, "stop reason", res.StopReason, "")
	// The end record still says the run stopped the flow, with its error.
	if !strings.Contains(events.String(), `"stop":"done: flow stopped by node"`) {
		t.Errorf("no stop in the end record:\n%s", events.String())
	}
}

// An output the run both emitted on and set streams its chunks only, even
// when nothing needs its whole value (llm.chat's usage).
func TestEmittedAndSetOutputStreamsItsChunksOnly(t *testing.T) {
	for _, opts := range []Options{{}, {KeepFinals: true}} {
		reg := testRegistry(nil)
		reg.MustRegister(registry.Spec{Type: "usage", Streams: true, Outputs: []registry.Output{{Name: "out"}},
			New: func(registry.Config, registry.Env) (registry.Node, error) {
				return funcNode(func(ctx context.Context, _ registry.Inputs, o registry.Outputs) error {
					if err := o.Emit(ctx, "out", "12 tokens"); err != nil {
						return err
					}
					o.Set("out", "12 tokens")
					return nil
				}), nil
			}})
		res, err := newBuilder(t, reg).
			node("u", "usage").
			node("shown", "collect", "s=u").
			run(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "stream", res.Final["shown"]["out"], []any{"12 tokens"})
	}
}
