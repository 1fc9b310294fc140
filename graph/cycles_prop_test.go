package graph_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// A randFlow is a small random flow of value.identity (x), math.add (a,
// and b with a type default) and math.sub (a, b, no defaults) nodes.
type randFlow struct {
	nodes []randNode
}

type randNode struct {
	typ      string
	inputs   []string       // input names of the type
	from     map[string]int // connected inputs: producer index
	defaults map[string]bool
}

func newRandFlow(r *rand.Rand) *randFlow {
	n := 1 + r.IntN(6)
	f := &randFlow{}
	for range n {
		var nd randNode
		switch r.IntN(3) {
		case 0:
			nd.typ, nd.inputs = "value.identity", []string{"x"}
		case 1:
			nd.typ, nd.inputs = "math.add", []string{"a", "b"}
		default:
			nd.typ, nd.inputs = "math.sub", []string{"a", "b"}
		}
		nd.from = map[string]int{}
		nd.defaults = map[string]bool{}
		for _, in := range nd.inputs {
			if r.IntN(5) > 0 {
				nd.from[in] = r.IntN(n)
				if r.IntN(4) == 0 {
					nd.defaults[in] = true
				}
			}
		}
		f.nodes = append(f.nodes, nd)
	}
	return f
}

// yaml writes the flow; an input neither connected nor defaulted by the
// type is a constant.
func (f *randFlow) yaml() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nname: rand\nnodes:\n")
	for i, nd := range f.nodes {
		fmt.Fprintf(&b, "  n%d:\n    type: %s\n", i, nd.typ)
		var ins, with, defs []string
		for _, in := range nd.inputs {
			if p, ok := nd.from[in]; ok {
				ins = append(ins, fmt.Sprintf("%s: n%d", in, p))
			} else if !(nd.typ == "math.add" && in == "b") {
				with = append(with, in+": 1")
			}
			if nd.defaults[in] {
				defs = append(defs, in+": 0")
			}
		}
		for i, list := range [][]string{ins, with, defs} {
			if len(list) > 0 {
				fmt.Fprintf(&b, "    %s: {%s}\n", []string{"inputs", "with", "defaults"}[i], strings.Join(list, ", "))
			}
		}
	}
	return []byte(b.String())
}

// comps returns the strongly connected component of each node (by
// transitive closure: the flows are small).
func (f *randFlow) comps() []int {
	n := len(f.nodes)
	reach := make([][]bool, n)
	for i := range reach {
		reach[i] = make([]bool, n)
		reach[i][i] = true
	}
	for c, nd := range f.nodes {
		for _, p := range nd.from {
			reach[p][c] = true
		}
	}
	for k := range n {
		for i := range n {
			for j := range n {
				reach[i][j] = reach[i][j] || reach[i][k] && reach[k][j]
			}
		}
	}
	comp := make([]int, n)
	for i := range n {
		comp[i] = i
		for j := range i {
			if reach[i][j] && reach[j][i] {
				comp[i] = comp[j]
				break
			}
		}
	}
	return comp
}

var (
	optionInput = regexp.MustCompile(`^n(\d+)\.(\w+) \(flow\.yaml:\d+:\d+\)$`)
	errorLine   = regexp.MustCompile(`^flow\.yaml:(\d+):3: cycle .* cannot start: .*; add defaults to (.*)$`)
	waysSuffix  = regexp.MustCompile(` \((\d+ of \d+ ways|some of the ways)\)$`)
)

// A cycleError is one reported cycle: the node it is reported at and the
// options it offers, each a list of node index and input name.
type cycleError struct {
	node    int
	options [][]fixInput
}

type fixInput struct {
	node int
	in   string
}

// parseCycleErrors reads the cycle errors of err, as a user would.
func parseCycleErrors(t *testing.T, src []byte, err error) []cycleError {
	t.Helper()
	list, ok := err.(graph.ErrorList)
	if !ok {
		t.Fatalf("got %v, want an ErrorList", err)
	}
	lines := strings.Split(string(src), "\n")
	var out []cycleError
	for _, e := range list {
		m := errorLine.FindStringSubmatch(e.Error())
		if m == nil {
			t.Fatalf("not a cycle error with options: %v\n%s", e, src)
		}
		var ce cycleError
		var line int
		fmt.Sscan(m[1], &line)
		fmt.Sscanf(strings.TrimSpace(lines[line-1]), "n%d:", &ce.node)
		for _, opt := range strings.Split(waysSuffix.ReplaceAllString(m[2], ""), " OR ") {
			var o []fixInput
			for _, part := range strings.Split(opt, " AND ") {
				pm := optionInput.FindStringSubmatch(part)
				if pm == nil {
					t.Fatalf("cannot read option input %q in %v", part, e)
				}
				var fi fixInput
				fmt.Sscan(pm[1], &fi.node)
				fi.in = pm[2]
				o = append(o, fi)
			}
			ce.options = append(ce.options, o)
		}
		out = append(out, ce)
	}
	return out
}

// TestCycleOptionsProperty loads thousands of random small flows. Every
// flow that loads runs, on the engine, with every node completing a run
// (its cycles really start). For every flow that does not, every error is
// a cycle error offering at least one option, and every option offered,
// applied alone, leaves no cycle of that component unable to start:
// reloaded, no error is reported in the component any more, and with the
// first option of every other error applied too, the flow loads and every
// node runs.
func TestCycleOptionsProperty(t *testing.T) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	graphs := 4000
	if testing.Short() || raceEnabled {
		graphs = 400
	}
	r := rand.New(rand.NewPCG(8, 6))
	var valid, invalid, options, multi int
	run := func(src []byte) {
		t.Helper()
		flow, err := graph.Load("flow.yaml", src, reg, graph.Options{})
		if err != nil {
			t.Fatalf("flow does not load: %v\n%s", err, src)
		}
		res, err := engine.Run(context.Background(), flow, engine.Options{MaxGenerations: 3})
		if err != nil {
			t.Fatalf("run: %v\n%s", err, src)
		}
		for _, n := range flow.Nodes {
			if res.Generations[n.ID] < 1 {
				t.Fatalf("node %s never ran (generations %v)\n%s", n.ID, res.Generations, src)
			}
		}
	}
	for range graphs {
		f := newRandFlow(r)
		src := f.yaml()
		_, err := graph.Load("flow.yaml", src, reg, graph.Options{})
		if err == nil {
			valid++
			run(src)
			continue
		}
		invalid++
		comp := f.comps()
		errs := parseCycleErrors(t, src, err)
		for i, ce := range errs {
			if len(ce.options) == 0 {
				t.Fatalf("no option offered\n%s", src)
			}
			for _, o := range ce.options {
				options++
				if len(o) > 1 && slices.ContainsFunc(o, func(fi fixInput) bool { return fi.node != o[0].node }) {
					multi++
				}
				fixed := f.with(o)
				fsrc := fixed.yaml()
				_, err := graph.Load("flow.yaml", fsrc, reg, graph.Options{})
				if err != nil {
					for _, left := range parseCycleErrors(t, fsrc, err) {
						if comp[left.node] == comp[ce.node] {
							t.Fatalf("option %v leaves a cycle unable to start:\n%v\n%s", o, err, fsrc)
						}
					}
				}
				for j, other := range errs {
					if j != i {
						fixed = fixed.with(other.options[0])
					}
				}
				run(fixed.yaml())
			}
		}
	}
	t.Logf("%d flows: %d load and run, %d have cycles that cannot start; %d options applied (%d spanning several nodes), each verified", graphs, valid, invalid, options, multi)
	if invalid < graphs/20 || multi == 0 {
		t.Errorf("the generator rarely makes stuck cycles: %d of %d, %d options across nodes", invalid, graphs, multi)
	}
}

// with returns a copy of f with defaults on the inputs of o.
func (f *randFlow) with(o []fixInput) *randFlow {
	c := &randFlow{nodes: slices.Clone(f.nodes)}
	for _, fi := range o {
		nd := &c.nodes[fi.node]
		defs := map[string]bool{fi.in: true}
		for k, v := range nd.defaults {
			defs[k] = v
		}
		nd.defaults = defs
	}
	return c
}

// refSeeds computes the Seeded inputs by the contract's definition,
// directly: in each strongly connected component (with a cycle) the first
// node in file order whose inputs from inside it all have defaults starts
// it; those inputs are seeded and the rest of the component is treated
// the same way.
func refSeeds(flow *graph.Flow) map[*graph.Binding]bool {
	seeded := map[*graph.Binding]bool{}
	var solve func(set []int)
	solve = func(set []int) {
		in := map[int]bool{}
		for _, v := range set {
			in[v] = true
		}
		edges := func(v int) []*graph.Binding { // bindings of v from inside set, not seeded
			var bs []*graph.Binding
			for _, b := range append(slices.Clone(flow.Nodes[v].Inputs), flow.Nodes[v].After...) {
				if (b.Kind == graph.Connected || b.Kind == graph.Ordering) && in[b.From.Node.Index] && !seeded[b] {
					bs = append(bs, b)
				}
			}
			return bs
		}
		reach := map[[2]int]bool{}
		for _, v := range set {
			for _, b := range edges(v) {
				reach[[2]int{b.From.Node.Index, v}] = true
			}
		}
		for _, k := range set {
			for _, i := range set {
				for _, j := range set {
					if reach[[2]int{i, k}] && reach[[2]int{k, j}] {
						reach[[2]int{i, j}] = true
					}
				}
			}
		}
		done := map[int]bool{}
		for _, v := range set {
			if done[v] || !reach[[2]int{v, v}] {
				continue
			}
			var comp []int
			for _, w := range set {
				if w == v || reach[[2]int{v, w}] && reach[[2]int{w, v}] {
					comp = append(comp, w)
					done[w] = true
				}
			}
			cin := map[int]bool{}
			for _, w := range comp {
				cin[w] = true
			}
			for _, w := range comp {
				var internal []*graph.Binding
				for _, b := range edges(w) {
					if cin[b.From.Node.Index] {
						internal = append(internal, b)
					}
				}
				if !slices.ContainsFunc(internal, func(b *graph.Binding) bool { return b.Kind != graph.Connected || !b.HasDefault }) {
					for _, b := range internal {
						seeded[b] = true
					}
					solve(slices.DeleteFunc(slices.Clone(comp), func(x int) bool { return x == w }))
					break
				}
			}
		}
	}
	all := make([]int, len(flow.Nodes))
	for i := range all {
		all[i] = i
	}
	solve(all)
	return seeded
}

// TestSeedsMatchDefinition checks, on random flows of up to 30 nodes
// with many defaults, that the loader seeds exactly the inputs the
// contract's recursive definition does.
func TestSeedsMatchDefinition(t *testing.T) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(6, 8))
	checked, seeds, want := 0, 0, 2000
	if testing.Short() || raceEnabled {
		want = 200
	}
	for checked < want {
		f := &randFlow{}
		n := 2 + r.IntN(29)
		for range n {
			nd := randNode{typ: "math.sub", inputs: []string{"a", "b"}, from: map[string]int{}, defaults: map[string]bool{}}
			if r.IntN(3) == 0 {
				nd.typ, nd.inputs = "value.identity", []string{"x"}
			}
			for _, in := range nd.inputs {
				if r.IntN(6) > 0 {
					nd.from[in] = r.IntN(n)
					nd.defaults[in] = r.IntN(3) > 0
				}
			}
			f.nodes = append(f.nodes, nd)
		}
		flow, err := graph.Load("flow.yaml", f.yaml(), reg, graph.Options{})
		if err != nil {
			continue
		}
		checked++
		ref := refSeeds(flow)
		for _, nd := range flow.Nodes {
			for _, b := range nd.Inputs {
				if b.Seeded != ref[b] {
					t.Fatalf("%s.%s: Seeded %v, want %v\n%s", nd.ID, b.Name, b.Seeded, ref[b], f.yaml())
				}
				if b.Seeded {
					seeds++
				}
			}
		}
	}
	t.Logf("%d flows, %d seeded inputs, all as defined", checked, seeds)
}
