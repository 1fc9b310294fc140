package graph_test

import (
	"context"
	"errors"

	"github.com/flowrun/flowrun/registry"
)

type nopNode struct{}

func (nopNode) Run(context.Context, registry.Inputs, registry.Outputs) error { return nil }

func newNop(registry.Config, registry.Env) (registry.Node, error) { return nopNode{}, nil }

// testRegistry returns the small registry the loader tests use, so that
// they do not depend on the built-in types.
func testRegistry() *registry.Registry {
	reg := registry.New()
	out := []registry.Output{{Name: "out", Type: registry.Number}}
	reg.MustRegister(registry.Spec{
		Type:    "math.inc",
		Doc:     "Adds one to x.",
		Inputs:  []registry.Input{{Name: "x", Type: registry.Number, Doc: "The number."}},
		Outputs: out,
		New:     newNop,
	})
	reg.MustRegister(registry.Spec{
		Type: "math.mul",
		Doc:  "Multiplies x by by.",
		Inputs: []registry.Input{
			{Name: "x", Type: registry.Number},
			{Name: "by", Type: registry.Number, HasDefault: true, Default: 2},
		},
		Outputs: out,
		New:     newNop,
	})
	reg.MustRegister(registry.Spec{
		Type: "math.add",
		Doc:  "Adds a and b.",
		Inputs: []registry.Input{
			{Name: "a", Type: registry.Number},
			{Name: "b", Type: registry.Number},
		},
		Outputs: out,
		New:     newNop,
	})
	reg.MustRegister(registry.Spec{
		Type:    "text.source",
		Doc:     "Streams the words of text.",
		Inputs:  []registry.Input{{Name: "text", Type: registry.String, HasDefault: true, Default: "a b c"}},
		Outputs: []registry.Output{{Name: "words", Type: registry.String}, {Name: "count", Type: registry.Integer}},
		Streams: true,
		New:     newNop,
	})
	reg.MustRegister(registry.Spec{
		Type:    "text.upper",
		Doc:     "Upper-cases a stream.",
		Inputs:  []registry.Input{{Name: "in", Type: registry.String, Stream: true}},
		Outputs: []registry.Output{{Name: "out", Type: registry.String}},
		Streams: true,
		New:     newNop,
	})
	reg.MustRegister(registry.Spec{
		Type: "text.join",
		Doc:  "Joins its named operands with sep.",
		Inputs: []registry.Input{
			{Name: "sep", Type: registry.String, Const: true, HasDefault: true, Default: " "},
		},
		Variadic: &registry.Input{Type: registry.String, Doc: "An operand."},
		Outputs:  []registry.Output{{Name: "out", Type: registry.String}},
		New:      newNop,
	})
	reg.MustRegister(registry.Spec{
		Type: "text.pad",
		Doc:  "Pads text to width, in a mode.",
		Inputs: []registry.Input{
			{Name: "text", Type: registry.String},
			{Name: "mode", Type: registry.String, Const: true, Enum: []any{"left", "right"}, HasDefault: true, Default: "left"},
			{Name: "width", Type: registry.Integer, Const: true, HasDefault: true, Default: 10},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String}},
		Check: func(cfg registry.Config) error {
			if w, ok := cfg.Params["width"].(int); ok && w > 80 {
				return &registry.ParamError{Param: "width", Err: errors.New("must be at most 80")}
			}
			return nil
		},
		New: newNop,
	})
	reg.MustRegister(registry.Spec{
		Type:     "state.count",
		Doc:      "Counts its runs.",
		Outputs:  []registry.Output{{Name: "out", Type: registry.Integer}},
		Stateful: true,
		New:      newNop,
	})
	reg.MustRegister(registry.Spec{
		Type:       "state.saved",
		Doc:        "Counts its runs and saves its state.",
		Outputs:    []registry.Output{{Name: "out", Type: registry.Integer}},
		Stateful:   true,
		SavesState: true,
		New:        newNop,
	})
	return reg
}
