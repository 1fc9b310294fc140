package builtin_test

import (
	"fmt"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// A service that runs the flows its users submit refuses processes and
// file writes by construction: those types are not in its registry, and a
// flow that uses one is an error at the node before anything runs.
func ExampleDeny() {
	reg := registry.New()
	if err := builtin.Register(reg, builtin.Deny(registry.Exec, registry.Write)); err != nil {
		panic(err)
	}
	src := []byte("nodes:\n  run:\n    type: exec\n    with: {command: [rm, -rf, /]}\n")
	_, err := graph.Load("user.yaml", src, reg, graph.Options{})
	fmt.Println(err)
	// Output:
	// user.yaml:3:11: node "run": type "exec" is refused: it runs processes (effect "exec"), which is denied; remove the node, or run with a policy that allows it
}
