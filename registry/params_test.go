package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParams(t *testing.T) {
	t.Parallel()
	p := Params{
		"s": "x", "i": 3, "i64": int64(4), "f": 2.5, "whole": 6.0, "b": true, "null": nil,
		"d": "1.5s", "secs": 2, "neg": "-1s", "list": []any{"a", "b"}, "bad_list": []any{"a", 1},
		"obj": map[string]any{"k": "v"}, "bad_obj": map[string]any{"k": 1},
	}
	tests := []struct {
		name    string
		get     func() (any, error)
		want    any
		wantErr string // the ParamError's message, after "param: "
	}{
		{"s", func() (any, error) { return p.String("s") }, "x", ""},
		{"i", func() (any, error) { return p.String("i") }, "", "want a string, got number 3"},
		{"null", func() (any, error) { return p.String("null") }, "", ""},
		{"absent", func() (any, error) { return p.Int("absent") }, 0, ""},
		{"s", func() (any, error) { return p.OneOf("s", "x", "y") }, "x", ""},
		{"s", func() (any, error) { return p.OneOf("s", "y", "z") }, "x", `want one of y, z, got string "x"`},
		{"i", func() (any, error) { return p.Int("i") }, 3, ""},
		{"i64", func() (any, error) { return p.Int("i64") }, 4, ""},
		{"whole", func() (any, error) { return p.Int("whole") }, 6, ""},
		{"f", func() (any, error) { return p.Int("f") }, 0, "want an integer, got number 2.5"},
		{"f", func() (any, error) { return p.Float("f") }, 2.5, ""},
		{"i", func() (any, error) { return p.Float("i") }, 3.0, ""},
		{"s", func() (any, error) { return p.Float("s") }, 0.0, `want a number, got string "x"`},
		{"b", func() (any, error) { return p.Bool("b") }, true, ""},
		{"s", func() (any, error) { return p.Bool("s") }, false, `want a boolean, got string "x"`},
		{"d", func() (any, error) { return p.Duration("d") }, 1500 * time.Millisecond, ""},
		{"secs", func() (any, error) { return p.Duration("secs") }, 2 * time.Second, ""},
		{"neg", func() (any, error) { return p.Duration("neg") }, time.Duration(0), "duration -1s is negative"},
		{"s", func() (any, error) { return p.Duration("s") }, time.Duration(0), `invalid duration "x"`},
		{"list", func() (any, error) { return p.Strings("list") }, []string{"a", "b"}, ""},
		{"bad_list", func() (any, error) { return p.Strings("bad_list") }, []string(nil), "element 1: want a string, got number 1"},
		{"s", func() (any, error) { return p.Strings("s") }, []string(nil), `want a list of strings, got string "x"`},
		{"obj", func() (any, error) { return p.Object("obj") }, map[string]any{"k": "v"}, ""},
		{"s", func() (any, error) { return p.Object("s") }, map[string]any(nil), `want an object, got string "x"`},
		{"obj", func() (any, error) { return p.StringMap("obj") }, map[string]string{"k": "v"}, ""},
		{"bad_obj", func() (any, error) { return p.StringMap("bad_obj") }, map[string]string(nil), `"k": want a string, got number 1`},
	}
	for _, tt := range tests {
		got, err := tt.get()
		if tt.wantErr == "" {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: got %#v, %v; want %#v", tt.name, got, err, tt.want)
			}
			continue
		}
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tt.name || !strings.HasPrefix(pe.Err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want a ParamError for %q starting %q", tt.name, err, tt.name, tt.wantErr)
		}
	}
}

func TestRegisterRejectsBrokenExample(t *testing.T) {
	t.Parallel()
	newNop := func(Config, Env) (Node, error) { return nil, nil }
	base := Spec{
		Type:    "test.ex",
		Inputs:  []Input{{Name: "s", Stream: true}, {Name: "k", Const: true, HasDefault: true}},
		Outputs: []Output{{Name: "out"}},
		New:     newNop,
	}
	tests := []struct{ example, want string }{
		{"not: [valid", "invalid YAML"},
		{"a: 1\nb: 2\n", "want one node entry"},
		{"p:\n  type: test.other\n  inputs: {s: src}\n", `type is not "test.ex"`},
		{"p:\n  type: test.ex\n  inputs: {s: src, k: 1, zz: 2}\n", `inputs: "k" is a parameter, it belongs under with:; inputs: no input "zz"`},
		{"p:\n  type: test.ex\n", `required input "s" is not bound`},
	}
	for _, tt := range tests {
		s := base
		s.Example = tt.example
		err := New().Register(s)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `register "test.ex": Example: `) {
			t.Errorf("Example %q: error %v, want one mentioning %q", tt.example, err, tt.want)
		}
	}
	s := base
	s.Example = "p:\n  type: test.ex\n  inputs: {s: src}\n  with: {k: 1}\n"
	if err := New().Register(s); err != nil {
		t.Errorf("a good Example: %v", err)
	}
}

func TestRegisterSavesStateNeedsStateful(t *testing.T) {
	t.Parallel()
	s := Spec{
		Type:       "test.saves",
		Outputs:    []Output{{Name: "out"}},
		SavesState: true,
		New:        func(Config, Env) (Node, error) { return nil, nil },
	}
	if err := New().Register(s); err == nil || !strings.Contains(err.Error(), "SavesState is for stateful types") {
		t.Errorf("SavesState without Stateful: error %v", err)
	}
	s.Stateful = true
	if err := New().Register(s); err != nil {
		t.Errorf("SavesState with Stateful: %v", err)
	}
}
