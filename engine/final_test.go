package engine

import (
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
