package builtin

import (
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// TestStatefulTypesMove runs each built-in type that saves its state on
// a sequence of inputs twice: on one instance, and moved to a new
// instance (state saved and restored, as between workers) before every
// run. The results must be the same, values and Go types alike.
func TestStatefulTypesMove(t *testing.T) {
	cases := []struct {
		typ    string
		params map[string]any
		runs   []map[string]any
	}{
		{typ: "state.counter", runs: []map[string]any{{}, {}, {"step": 2.5}, {"step": 0.5}, {"step": 1}}},
		{typ: "state.accumulator", runs: []map[string]any{{"x": 2.5}, {"x": 1.5}, {"x": 1}}},
		{typ: "state.accumulator", runs: []map[string]any{{"x": []any{1, 2.0}}, {"x": []any{map[string]any{"a": 3.0}}}}},
		{typ: "state.accumulator", runs: []map[string]any{{"x": "a"}, {"x": 1}, {"x": "b"}}},
		{typ: "state.accumulator", runs: []map[string]any{{"x": nil}, {"x": nil}}},
		{typ: "chat.history", params: map[string]any{"max_turns": 2}, runs: []map[string]any{
			{"prompt": "hi"}, {"prompt": "again", "answer": "hello"}, {"prompt": "more", "answer": "cut", "finish_reason": "length"},
			{"prompt": "last", "answer": "ok"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			spec := lookup(t, tc.typ)
			still := nodetest.New(t, spec, nodetest.Setup{Params: tc.params})
			moved := nodetest.New(t, spec, nodetest.Setup{Params: tc.params})
			for i, in := range tc.runs {
				want := still.Run(t, nodetest.In{Values: in})
				moved.Move(t)
				got := moved.Run(t, nodetest.In{Values: in})
				if !reflect.DeepEqual(got.Final, want.Final) || errText(got.Err) != errText(want.Err) {
					t.Fatalf("run %d after a move: %#v, %v; on one instance: %#v, %v", i+1, got.Final, got.Err, want.Final, want.Err)
				}
			}
		})
	}
}

// TestStatefulBuiltinsSaveStateOrStayLocal: every built-in stateful type
// either saves its state (and may run on workers) or cannot leave the
// process for another reason (live, terminal, a web page).
func TestStatefulBuiltinsSaveStateOrStayLocal(t *testing.T) {
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	for _, typ := range reg.Types() {
		spec, _ := reg.Lookup(typ)
		if !spec.Stateful || spec.SavesState {
			continue
		}
		if !spec.Live && len(spec.Effects) == 0 {
			t.Errorf("%s is stateful and pure but does not save its state: it could run on workers if it did", typ)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
