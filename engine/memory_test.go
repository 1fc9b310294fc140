package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// words registers "words": a streaming type that emits "n" chunks of
// "size" bytes and records whether its output's whole value is needed.
// With "swallow" set to yes it ignores Emit's errors.
func words(reg *registry.Registry, needed *[]bool) {
	reg.MustRegister(registry.Spec{Type: "words", Streams: true,
		Inputs: []registry.Input{{Name: "n"}, {Name: "size", HasDefault: true, Default: 10},
			{Name: "swallow", HasDefault: true, Default: "no"}},
		Outputs: []registry.Output{{Name: "out"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				*needed = append(*needed, registry.Needed(o, "out"))
				chunk := strings.Repeat("x", int(num(in.Value("size"))))
				for range int(num(in.Value("n"))) {
					if err := o.Emit(ctx, "out", chunk); err != nil && in.Value("swallow") != "yes" {
						return err
					}
				}
				return nil
			}), nil
		}})
}

func TestWholeValueOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		value      bool // a value input reads src
		opts       Options
		wantNeeded bool
	}{
		{"stream readers only", false, Options{}, false},
		{"a value consumer", true, Options{}, true},
		{"the final values", false, Options{KeepFinals: true}, true},
		{"the event log", false, Options{Events: io.Discard}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var needed []bool
			reg := testRegistry(nil)
			words(reg, &needed)
			b := newBuilder(t, reg).
				node("src", "words", "n:=3", "size:=2").
				node("reader", "drain", "s=src")
			if tc.value {
				b.node("whole", "identity", "x=src")
			}
			res, err := b.run(t.Context(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "needed", needed, []bool{tc.wantNeeded})
			equal(t, "stream reader", res.Final["reader"]["out"], 3)
			out, kept := res.Final["src"]["out"]
			equal(t, "src in Result.Final", kept, tc.wantNeeded)
			if kept {
				equal(t, "src's accumulation", out, "xxxxxx")
			}
		})
	}
}

func TestWholeValuePastTheLimitFails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		value    bool
		swallow  bool
		opts     Options
		neededBy string
	}{
		{"needed by a consumer", true, false, Options{MaxValueBytes: 100}, `node "whole"`},
		{"the node ignores Emit's error", true, true, Options{MaxValueBytes: 100}, `node "whole"`},
		{"needed by the final values", false, false, Options{MaxValueBytes: 100, KeepFinals: true}, "the final values (--print-final)"},
		{"needed by the event log", false, false, Options{MaxValueBytes: 100, Events: io.Discard}, "the event log (--events)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var needed []bool
			reg := testRegistry(nil)
			words(reg, &needed)
			bindings := []string{"n:=1000", "size:=10"}
			if tc.swallow {
				bindings = append(bindings, "swallow:=yes")
			}
			// No stream reader: the chunks kept for one that has not
			// started reading count too (see the next test).
			b := newBuilder(t, reg).node("src", "words", bindings...)
			if tc.value {
				b.node("whole", "identity", "x=src")
			}
			_, err := b.run(t.Context(), tc.opts)
			var nerr *NodeError
			var big *registry.ValueTooLargeError
			if !errors.As(err, &nerr) || !errors.As(err, &big) {
				t.Fatalf("err = %v, want a NodeError with a ValueTooLargeError", err)
			}
			equal(t, "node", nerr.Node, "src")
			equal(t, "error", big, &registry.ValueTooLargeError{Output: "out", Limit: 100, NeededBy: tc.neededBy})
			if msg := err.Error(); !strings.Contains(msg, `node "src" (words)`) || !strings.Contains(msg, `output "out"`) ||
				!strings.Contains(msg, "limit of 100 B") || !strings.Contains(msg, "--max-value-bytes") {
				t.Errorf("message %q does not name the node, the output, the limit and the fix", msg)
			}
		})
	}
}

func TestNoLimitWhenNegative(t *testing.T) {
	var needed []bool
	reg := testRegistry(nil)
	words(reg, &needed)
	res, err := newBuilder(t, reg).
		node("src", "words", "n:=100", "size:=10").
		node("whole", "identity", "x=src").
		run(t.Context(), Options{MaxValueBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "length", len(res.Final["whole"]["out"].(string)), 1000)
}

func TestChunksKeptForAConsumerNotReadingAreBounded(t *testing.T) {
	var needed []bool
	reg := testRegistry(nil)
	words(reg, &needed)
	// late reads src's stream but can start only once whole, and so src,
	// ended: every chunk is kept for it until then.
	_, err := newBuilder(t, reg).
		node("src", "words", "n:=1000", "size:=10").
		node("whole", "identity", "x=src").
		node("late", "collect", "s=src", "take=whole").
		run(t.Context(), Options{MaxValueBytes: 5000})
	var big *registry.ValueTooLargeError
	if !errors.As(err, &big) {
		t.Fatalf("err = %v, want a ValueTooLargeError", err)
	}
	equal(t, "error", big, &registry.ValueTooLargeError{Output: "out", Limit: 5000,
		NeededBy: `node "late", which has not started reading the stream`})

	// Within the limit the shape runs: late reads every chunk at the end.
	res, err := newBuilder(t, reg).
		node("src", "words", "n:=10", "size:=10").
		node("whole", "identity", "x=src").
		node("late", "collect", "s=src", "take=whole").
		run(t.Context(), Options{MaxValueBytes: 5000})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "chunks read late", len(res.Final["late"]["out"].([]any)), 10)
}
