package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// shout is a node type written in Go by a program that embeds flowrun: it
// streams the words of its input in upper case, one chunk per word.
type shout struct{}

func (shout) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	text, _ := in.Value("text").(string)
	for _, w := range strings.Fields(text) {
		if err := out.Emit(ctx, "words", strings.ToUpper(w)+" "); err != nil {
			return err
		}
	}
	return nil
}

// Embedding flowrun: register the built-in node types and one of your own,
// load a flow from YAML and run it.
func Example() {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		panic(err)
	}
	reg.MustRegister(registry.Spec{
		Type:    "demo.shout",
		Doc:     "Streams the words of a text in upper case.",
		Inputs:  []registry.Input{{Name: "text", Type: registry.String, Doc: "The text to shout."}},
		Outputs: []registry.Output{{Name: "words", Type: registry.String, Doc: "One chunk per word."}},
		Streams: true,
		New:     func(registry.Config, registry.Env) (registry.Node, error) { return shout{}, nil },
	})

	src := []byte(`
version: 1
nodes:
  shout:
    type: demo.shout
    with: {text: "streams flow chunk by chunk"}
  count:
    type: stream.collect
    inputs: {s: shout}
  whole:
    type: value.identity
    inputs: {x: shout}
`)
	flow, err := graph.Load("demo.yaml", src, reg, graph.Options{})
	if err != nil {
		fmt.Println(err) // every problem, as file:line:col: message
		return
	}
	res, err := engine.Run(context.Background(), flow, engine.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", res.Final["count"]["out"])
	fmt.Printf("%q\n", res.Final["whole"]["out"])
	fmt.Println(res.Reason)
	// Output:
	// ["STREAMS " "FLOW " "CHUNK " "BY " "CHUNK "]
	// "STREAMS FLOW CHUNK BY CHUNK "
	// done
}
