package engine

import (
	"fmt"
	"strings"
	"testing"
)

// TestFailedRunDoesNotCount: a node whose run fails (and ends the flow)
// has in Result only its completed runs: none when the first run failed.
func TestFailedRunDoesNotCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flow  func(*builder) *builder
		gens  map[string]int
		final map[string]map[string]any
	}{{
		name: "first run",
		flow: func(b *builder) *builder { return b.node("f", "fail", "x:=5") },
		gens: map[string]int{"f": 0}, final: map[string]map[string]any{},
	}, {
		name: "third run",
		flow: func(b *builder) *builder {
			return b.node("a", "inc", "x<-f").node("f", "fail", "x=a").withDefault("a", "x", 0)
		},
		// f gets 1 and 2, then fails on 3; a's third run completed.
		gens:  map[string]int{"a": 3, "f": 2},
		final: map[string]map[string]any{"a": {"out": 3.0}, "f": {"out": 2.0}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := tt.flow(newBuilder(t, testRegistry(nil))).run(t.Context(), Options{})
			if err == nil || res.Reason != ReasonFailed {
				t.Fatalf("reason %q, error %v: want a failure", res.Reason, err)
			}
			equal(t, "generations", res.Generations, tt.gens)
			equal(t, "final", res.Final, tt.final)
		})
	}
}

// TestNoNodeResults: with Options.NoNodeResults the run ends the same
// way, with Result.Final and Result.Generations left nil; it cannot be
// combined with KeepFinals.
func TestNoNodeResults(t *testing.T) {
	t.Parallel()
	flow := func() *builder {
		return newBuilder(t, testRegistry(nil)).node("a", "inc", "x<-f").node("f", "fail", "x=a").withDefault("a", "x", 0)
	}
	full, fullErr := flow().run(t.Context(), Options{})
	res, err := flow().run(t.Context(), Options{NoNodeResults: true})
	if res == nil || full == nil {
		t.Fatalf("results %v, %v", res, full)
	}
	equal(t, "error", fmt.Sprint(err), fmt.Sprint(fullErr))
	equal(t, "reason", res.Reason, full.Reason)
	equal(t, "stopped by", res.StoppedBy, full.StoppedBy)
	if res.Final != nil || res.Generations != nil {
		t.Errorf("Final %v, Generations %v: want both nil", res.Final, res.Generations)
	}
	if len(full.Final) == 0 || len(full.Generations) == 0 {
		t.Errorf("without the option: Final %v, Generations %v", full.Final, full.Generations)
	}
	if _, err := New(flow().build(), Options{NoNodeResults: true, KeepFinals: true}); err == nil || !strings.Contains(err.Error(), "KeepFinals and NoNodeResults") {
		t.Errorf("KeepFinals with NoNodeResults: got %v, want an error", err)
	}
}
