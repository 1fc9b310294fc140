package graph_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// chainFlow returns a flow of n math.inc nodes in a chain; with cycle,
// the first node also reads the last one and starts from a default.
func chainFlow(n int, cycle bool) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nname: bench\nnodes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  n%d:\n    type: math.inc\n", i)
		switch {
		case i > 0:
			fmt.Fprintf(&b, "    inputs: {x: n%d}\n", i-1)
		case cycle:
			fmt.Fprintf(&b, "    inputs: {x: n%d}\n    defaults: {x: 0}\n", n-1)
		default:
			b.WriteString("    with: {x: 0}\n")
		}
	}
	return []byte(b.String())
}

// BenchmarkLoad10k loads and validates 10,000-node flows: a chain, and a
// single cycle through all of them.
func BenchmarkLoad10k(b *testing.B) {
	reg := testRegistry()
	for _, bc := range []struct {
		name  string
		cycle bool
	}{{"chain", false}, {"cycle", true}} {
		src := chainFlow(10_000, bc.cycle)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				flow, err := graph.Load("bench.yaml", src, reg, graph.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if len(flow.Nodes) != 10_000 {
					b.Fatalf("got %d nodes", len(flow.Nodes))
				}
			}
		})
	}
}

// TestLoadLarge checks the 10,000-node flows load, and that the cycle is
// seeded at its first node.
func TestLoadLarge(t *testing.T) {
	t.Parallel()
	flow, err := graph.Load("big.yaml", chainFlow(10_000, true), testRegistry(), graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := flow.Nodes[0].Input("x"); !got.Seeded {
		t.Errorf("n0.x: got Seeded=false, want true")
	}
	for _, n := range flow.Nodes[1:] {
		if n.Input("x").Seeded {
			t.Fatalf("%s.x is seeded, want only n0.x", n.ID)
		}
	}
	if flow.Node("n9999") == nil {
		t.Error("Node(\"n9999\") is nil")
	}
}

// TestLoadLargeNoDefault checks a 10,000-node cycle without a default is
// one error (and that Tarjan does not recurse).
func TestLoadLargeNoDefault(t *testing.T) {
	t.Parallel()
	src := strings.Replace(string(chainFlow(10_000, true)), "    defaults: {x: 0}\n", "", 1)
	_, err := graph.Load("big.yaml", []byte(src), testRegistry(), graph.Options{})
	list, ok := err.(graph.ErrorList)
	if !ok || len(list) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if !strings.HasPrefix(list[0].Msg, "cycle n0 -> n1 -> n2 -> ") {
		t.Errorf("got %.80s", list[0].Msg)
	}
}

var cycleShapes = []string{"spine", "spine-reversed", "rings", "chain", "ring"}

// BenchmarkCycleShapes loads each shape at 4,000, 8,000 and 16,000 nodes:
// time and allocations must grow linearly (ratio at most 2.2 from n to
// 2n).
func BenchmarkCycleShapes(b *testing.B) {
	reg := testRegistry()
	for _, shape := range cycleShapes {
		for _, n := range []int{4000, 8000, 16000} {
			src := graph.CycleShape(shape, n)
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := graph.Load("shape.yaml", src, reg, graph.Options{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestCycleShapesLinearMemory checks that loading each shape at 2n nodes
// allocates at most 2.2 times the bytes it does at n (the quadratic
// analysis allocated 636 MB for the 8,000-node spine).
func TestCycleShapesLinearMemory(t *testing.T) {
	reg := testRegistry()
	alloc := func(src []byte) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := graph.Load("shape.yaml", src, reg, graph.Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	n := 4000
	if raceEnabled {
		n = 1000
	}
	for _, shape := range cycleShapes {
		small, large := alloc(graph.CycleShape(shape, n)), alloc(graph.CycleShape(shape, 2*n))
		t.Logf("%s: %d bytes at %d nodes, %d at %d (x%.2f)", shape, small, n, large, 2*n, float64(large)/float64(small))
		if float64(large) > 2.2*float64(small) {
			t.Errorf("%s: %d bytes at %d nodes, %d at %d: more than linear", shape, small, n, large, 2*n)
		}
	}
}

// BenchmarkLoad100k loads and validates a 100,000-node chain of the
// built-in math.inc (the lean-loading target: at most 1 s and
// 150 MB peak RSS from the command line).
func BenchmarkLoad100k(b *testing.B) {
	reg := builtinRegistry(b)
	src := chainFlow(100_000, false)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		flow, err := graph.Load("chain.yaml", src, reg, graph.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(flow.Nodes) != 100_000 {
			b.Fatalf("got %d nodes", len(flow.Nodes))
		}
	}
}

func builtinRegistry(tb testing.TB) *registry.Registry {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		tb.Fatal(err)
	}
	return reg
}
