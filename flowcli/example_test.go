package flowcli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/registry"
)

// helloNode greets the name it is given.
type helloNode struct{}

func (helloNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	name, ok := in.Value("name").(string)
	if !ok {
		return fmt.Errorf("input %q: want a string, got %T", "name", in.Value("name"))
	}
	out.Set("out", "Hello, "+name+"!")
	return nil
}

// A program with node types of its own runs the whole flowrun command line
// over a registry that holds them: run, validate, explain, nodes, schema
// and graph all know them. Its main is the last line of this example with
// os.Args and os.Exit.
func Example_ownNodeTypes() {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		panic(err)
	}
	reg.MustRegister(registry.Spec{
		Type:    "greet.hello",
		Doc:     "Greets someone.",
		Inputs:  []registry.Input{{Name: "name", Type: registry.String, Doc: "Who to greet."}},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The greeting."}},
		Example: "hi:\n  type: greet.hello\n  with: {name: World}\n",
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return helloNode{}, nil
		},
	})

	dir, err := os.MkdirTemp("", "flowcli-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	flow := filepath.Join(dir, "greet.yaml")
	src := "nodes:\n  hi: {type: greet.hello, with: {name: World}}\n  show: {type: term.print, inputs: {s: hi}}\n"
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		panic(err)
	}

	code := flowcli.Main(context.Background(), []string{"flowrun", "run", flow}, reg, strings.NewReader(""), os.Stdout, os.Stderr)
	fmt.Println("exit code", code)
	// Output:
	// Hello, World!
	// exit code 0
}
