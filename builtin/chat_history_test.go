package builtin

import (
	"errors"
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func chatMsg(role, content string) any { return map[string]any{"role": role, "content": content} }

func TestChatHistory(t *testing.T) {
	t.Parallel()
	type run struct {
		prompt string
		answer any // nil: the default (null)
		want   []any
	}
	tests := []struct {
		name   string
		params map[string]any
		runs   []run
		finish map[int]string // the finish_reason of run i's answer; none: the default
	}{
		{
			name: "grows turn by turn",
			runs: []run{
				{"hi", nil, []any{chatMsg("system", chatDefaultSystem), chatMsg("user", "hi")}},
				{"and you?", "hello", []any{chatMsg("system", chatDefaultSystem), chatMsg("user", "hi"), chatMsg("assistant", "hello"), chatMsg("user", "and you?")}},
			},
		},
		{
			name:   "failed answer is not recorded",
			params: map[string]any{"system": "be terse"},
			runs: []run{
				{"q1", nil, []any{chatMsg("system", "be terse"), chatMsg("user", "q1")}},
				{"q2", "", []any{chatMsg("system", "be terse"), chatMsg("user", "q1"), chatMsg("user", "q2")}},
			},
		},
		{
			name:   "answer cut at max_tokens is not recorded",
			params: map[string]any{"system": "s"},
			runs: []run{
				{"q1", nil, []any{chatMsg("system", "s"), chatMsg("user", "q1")}},
				{"q2", "Once upon a", []any{chatMsg("system", "s"), chatMsg("user", "q1"), chatMsg("user", "q2")}},
				{"q3", "The end.", []any{chatMsg("system", "s"), chatMsg("user", "q1"), chatMsg("user", "q2"), chatMsg("assistant", "The end."), chatMsg("user", "q3")}},
			},
			finish: map[int]string{1: "length", 2: "stop"},
		},
		{
			name:   "no system prompt",
			params: map[string]any{"system": ""},
			runs:   []run{{"q", nil, []any{chatMsg("user", "q")}}},
		},
		{
			name:   "max_turns keeps the last exchanges",
			params: map[string]any{"system": "s", "max_turns": 1},
			runs: []run{
				{"q1", nil, []any{chatMsg("system", "s"), chatMsg("user", "q1")}},
				{"q2", "a1", []any{chatMsg("system", "s"), chatMsg("user", "q1"), chatMsg("assistant", "a1"), chatMsg("user", "q2")}},
				{"q3", "a2", []any{chatMsg("system", "s"), chatMsg("user", "q2"), chatMsg("assistant", "a2"), chatMsg("user", "q3")}},
			},
		},
		{
			name:   "max_turns two",
			params: map[string]any{"system": "s", "max_turns": 2},
			runs: []run{
				{"q1", nil, nil},
				{"q2", "a1", nil},
				{"q3", "a2", nil},
				{"q4", "a3", []any{chatMsg("system", "s"), chatMsg("user", "q2"), chatMsg("assistant", "a2"), chatMsg("user", "q3"), chatMsg("assistant", "a3"), chatMsg("user", "q4")}},
			},
		},
	}
	spec := chatLookup(t, "chat.history")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: tt.params})
			var outputs []any
			for i, r := range tt.runs {
				vals := map[string]any{"prompt": r.prompt}
				in := nodetest.In{Values: vals}
				if f, ok := tt.finish[i]; ok {
					vals["finish_reason"] = f
				}
				if r.answer != nil {
					vals["answer"] = r.answer
				} else {
					in.Defaulted = []string{"answer"}
				}
				res := n.Run(t, in)
				if res.Err != nil {
					t.Fatalf("run %d: %v", i, res.Err)
				}
				if r.want != nil && !reflect.DeepEqual(res.Out(), r.want) {
					t.Errorf("run %d: messages\n got %v\nwant %v", i, res.Out(), r.want)
				}
				outputs = append(outputs, res.Out())
			}
			// Earlier outputs are never changed by later runs.
			if len(tt.runs) > 1 {
				first := outputs[0].([]any)
				if len(first) != len(tt.runs[0].want) && tt.runs[0].want != nil {
					t.Errorf("first output changed: %v", first)
				}
				first[len(first)-1].(map[string]any)["content"] = "mutated by a consumer"
				res := n.Run(t, nodetest.In{Values: map[string]any{"prompt": "again"}})
				for _, m := range res.Out().([]any) {
					if m.(map[string]any)["content"] == "mutated by a consumer" {
						t.Errorf("a later output shares objects with an earlier one")
					}
				}
			}
		})
	}
}

func TestChatHistoryErrors(t *testing.T) {
	t.Parallel()
	spec := chatLookup(t, "chat.history")
	n := nodetest.New(t, spec, nodetest.Setup{})
	if res := n.Run(t, nodetest.In{Values: map[string]any{"prompt": 3}}); res.Err == nil {
		t.Error("a number prompt was accepted")
	}
	if res := n.Run(t, nodetest.In{Values: map[string]any{"prompt": "x", "answer": []any{"a"}}}); res.Err == nil {
		t.Error("a list answer was accepted")
	}
	for _, v := range []any{-1, 1.5, "ten"} {
		_, err := nodetest.Build(spec, nodetest.Setup{Params: map[string]any{"max_turns": v}})
		var pe *registry.ParamError
		if !errors.As(err, &pe) || pe.Param != "max_turns" {
			t.Errorf("max_turns %v: err = %v", v, err)
		}
	}
}
