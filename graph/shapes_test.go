package graph

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// CycleShape writes a flow of about n nodes of one of the shapes cycle
// analysis must handle in linear time:
//
//   - "spine": the adversarial shape. v0 = add(a: 1, b <- last),
//     v_i = add(a <- v_{i-1}, b <- last), every b with a default, and
//     last = inc(x <- v_{n-2}). One component that loses one node per
//     start: v0, then v1, and so on.
//   - "spine-reversed": the same nodes in reverse file order, so that the
//     startable node is last in the file.
//   - "rings": rings of 8 nodes, each started by a default, whose first
//     nodes form a ring of rings (also with defaults).
//   - "chain": a chain without a cycle.
//   - "ring": one cycle through all nodes, started by one default.
func CycleShape(shape string, n int) []byte {
	type node struct{ id, text string }
	var nodes []node
	add := func(id, format string, args ...any) {
		nodes = append(nodes, node{id, fmt.Sprintf("  %s: "+format+"\n", append([]any{id}, args...)...)})
	}
	switch shape {
	case "spine", "spine-reversed":
		add("v0", "{type: math.add, with: {a: 1}, inputs: {b: last}, defaults: {b: 0}}")
		for i := 1; i < n-1; i++ {
			add(fmt.Sprintf("v%d", i), "{type: math.add, inputs: {a: v%d, b: last}, defaults: {b: 0}}", i-1)
		}
		add("last", "{type: math.inc, inputs: {x: v%d}}", n-2)
		if shape == "spine-reversed" {
			slices.Reverse(nodes)
		}
	case "rings":
		const size = 8
		rings := n / size
		for r := range rings {
			add(fmt.Sprintf("r%d_0", r), "{type: math.add, inputs: {a: r%d_%d, b: r%d_0}, defaults: {a: 0, b: 0}}", r, size-1, (r+rings-1)%rings)
			for i := 1; i < size; i++ {
				add(fmt.Sprintf("r%d_%d", r, i), "{type: math.inc, inputs: {x: r%d_%d}}", r, i-1)
			}
		}
	case "chain", "ring":
		for i := range n {
			switch {
			case i > 0:
				add(fmt.Sprintf("n%d", i), "{type: math.inc, inputs: {x: n%d}}", i-1)
			case shape == "ring":
				add("n0", "{type: math.inc, inputs: {x: n%d}, defaults: {x: 0}}", n-1)
			default:
				add("n0", "{type: math.inc, with: {x: 0}}")
			}
		}
	}
	var b strings.Builder
	b.WriteString("version: 1\nname: shape\nnodes:\n")
	for _, nd := range nodes {
		b.WriteString(nd.text)
	}
	return []byte(b.String())
}

// BenchmarkAnalyseCycles measures cycle analysis alone (the flow is
// loaded once) on each shape at n and 2n nodes.
func BenchmarkAnalyseCycles(b *testing.B) {
	reg := registry.New()
	num := []registry.Output{{Name: "out", Type: registry.Number}}
	nop := func(registry.Config, registry.Env) (registry.Node, error) { return nil, nil }
	reg.MustRegister(registry.Spec{Type: "math.inc", Inputs: []registry.Input{{Name: "x", Type: registry.Number}}, Outputs: num, New: nop})
	reg.MustRegister(registry.Spec{Type: "math.add", Inputs: []registry.Input{{Name: "a", Type: registry.Number}, {Name: "b", Type: registry.Number}}, Outputs: num, New: nop})
	for _, shape := range []string{"spine", "spine-reversed", "rings", "chain", "ring"} {
		for _, n := range []int{50_000, 100_000} {
			flow, err := Load("shape.yaml", CycleShape(shape, n), reg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var errs ErrorList
					analyseCycles(flow, &errs)
					if len(errs) > 0 {
						b.Fatal(errs)
					}
				}
			})
		}
	}
}
