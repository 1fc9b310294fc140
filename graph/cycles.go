package graph

import (
	"slices"
)

// A digraph is the dependency graph of a flow: one edge per Connected or
// Ordering binding, from the producer to the consumer, in compressed
// adjacency lists.
type digraph struct {
	edges   []depEdge
	outAt   []int32 // out-edges of v: outList[outAt[v]:outAt[v+1]]
	outList []int32
	inAt    []int32
	inList  []int32
	removed []bool
}

type depEdge struct {
	from, to int32
	// isHard: the edge can never be fed from a default (an after:
	// dependency, or a connection without a default).
	isHard bool
	b      *Binding
}

func (e *depEdge) hard() bool { return e.isHard }

func newDigraph(f *Flow) *digraph {
	n := len(f.Nodes)
	g := &digraph{outAt: make([]int32, n+1), inAt: make([]int32, n+1)}
	m := 0
	for _, node := range f.Nodes {
		m += len(node.Inputs) + len(node.After)
	}
	g.edges = make([]depEdge, 0, m)
	for _, node := range f.Nodes {
		for _, bs := range [][]*Binding{node.Inputs, node.After} {
			for _, b := range bs {
				if (b.Kind == Connected || b.Kind == Ordering) && b.From.Node != nil {
					e := depEdge{from: int32(b.From.Node.Index), to: int32(node.Index), b: b,
						isHard: b.Kind != Connected || !b.HasDefault}
					g.edges = append(g.edges, e)
					g.outAt[e.from+1]++
					g.inAt[e.to+1]++
				}
			}
		}
	}
	for v := range n {
		g.outAt[v+1] += g.outAt[v]
		g.inAt[v+1] += g.inAt[v]
	}
	g.outList = make([]int32, len(g.edges))
	g.inList = make([]int32, len(g.edges))
	outNext := slices.Clone(g.outAt[:n])
	inNext := slices.Clone(g.inAt[:n])
	for i, e := range g.edges {
		g.outList[outNext[e.from]] = int32(i)
		outNext[e.from]++
		g.inList[inNext[e.to]] = int32(i)
		inNext[e.to]++
	}
	g.removed = make([]bool, len(g.edges))
	return g
}

func (g *digraph) in(v int32) []int32  { return g.inList[g.inAt[v]:g.inAt[v+1]] }
func (g *digraph) out(v int32) []int32 { return g.outList[g.outAt[v]:g.outAt[v+1]] }

// analyseCycles checks that every cycle of the flow can start and marks
// where each starts.
//
// A cycle can start only at a node whose inputs from inside it all have
// defaults. Every cycle of the flow can start exactly when no cycle is
// made only of hard edges (connections without a default and after:
// dependencies). The strongly connected components of the hard edges
// that contain a cycle are reported once per component of the whole
// graph, with the sets of inputs whose defaults would make every cycle
// through them startable (see report).
//
// When every cycle can start, the starts are those of the contract: for
// each strongly connected component, the first node in file order whose
// inputs from inside it all have defaults starts it; those inputs are
// marked Seeded and what remains of the component is treated the same way,
// so that nested cycles get a start too. seedAll computes this in time
// almost linear in nodes + edges (see decompose).
func analyseCycles(f *Flow, errs *ErrorList) {
	g := newDigraph(f)
	a := &cycleAnalysis{flow: f, g: g, errs: errs}
	a.tarjan.init(g, len(f.Nodes))
	all := make([]int32, len(f.Nodes))
	for i := range all {
		all[i] = int32(i)
	}
	// Components of the hard edges alone.
	for i := range g.edges {
		g.removed[i] = !g.edges[i].hard()
	}
	stuck := a.tarjan.run(all, 0)
	clear(g.removed)
	if len(stuck) > 0 {
		// Report once per component of the whole graph: the stuck
		// components of its hard edges, together.
		hcomp := make([]int32, len(f.Nodes))
		for i, comp := range stuck {
			for _, v := range comp {
				hcomp[v] = int32(i) + 1
			}
		}
		var groups [][]int32
		for _, comp := range a.tarjan.run(all, 0) {
			var group []int32
			for _, v := range comp {
				if hcomp[v] > 0 {
					group = append(group, v)
				}
			}
			if len(group) > 0 {
				slices.Sort(group)
				groups = append(groups, group)
			}
		}
		for _, group := range groups {
			a.report(group, hcomp)
		}
		return
	}
	a.seedAll(all)
}

type cycleAnalysis struct {
	flow   *Flow
	g      *digraph
	errs   *ErrorList
	tarjan tarjan
	lf     loopForest
}

// selfLoop reports whether v has an active edge to itself.
func (t *tarjan) selfLoop(v int32) bool {
	g := t.g
	for _, e := range g.out(v) {
		if !g.removed[e] && g.edges[e].to == v {
			return true
		}
	}
	return false
}

// tarjan finds strongly connected components without recursion, so that
// long chains cannot overflow the stack. Only nodes whose mark equals the
// run's mark take part, and removed edges are skipped.
type tarjan struct {
	g       *digraph
	index   []int32
	low     []int32
	onStack []bool
	mark    []int32
	stack   []int32
	frames  []tarjanFrame
	counter int32
}

type tarjanFrame struct {
	v    int32
	next int32 // position in g.outList
}

func (t *tarjan) init(g *digraph, n int) {
	t.g = g
	t.index = make([]int32, n)
	t.low = make([]int32, n)
	t.onStack = make([]bool, n)
	t.mark = make([]int32, n)
}

func (t *tarjan) push(v int32) {
	t.index[v] = t.counter
	t.low[v] = t.counter
	t.counter++
	t.stack = append(t.stack, v)
	t.onStack[v] = true
	t.frames = append(t.frames, tarjanFrame{v: v, next: t.g.outAt[v]})
}

// run returns the components of the subgraph of the nodes of roots (all
// marked cur) that contain a cycle.
func (t *tarjan) run(roots []int32, cur int32) [][]int32 {
	g := t.g
	for _, v := range roots {
		t.index[v] = -1
		t.onStack[v] = false
	}
	var comps [][]int32
	for _, r := range roots {
		if t.index[r] != -1 {
			continue
		}
		t.push(r)
		for len(t.frames) > 0 {
			f := &t.frames[len(t.frames)-1]
			v := f.v
			if f.next < g.outAt[v+1] {
				e := g.outList[f.next]
				f.next++
				w := g.edges[e].to
				if g.removed[e] || t.mark[w] != cur {
					continue
				}
				if t.index[w] == -1 {
					t.push(w)
				} else if t.onStack[w] {
					t.low[v] = min(t.low[v], t.index[w])
				}
				continue
			}
			t.frames = t.frames[:len(t.frames)-1]
			if len(t.frames) > 0 {
				p := t.frames[len(t.frames)-1].v
				t.low[p] = min(t.low[p], t.low[v])
			}
			if t.low[v] == t.index[v] {
				i := len(t.stack) - 1
				for t.stack[i] != v {
					i--
				}
				comp := t.stack[i:]
				for _, w := range comp {
					t.onStack[w] = false
				}
				t.stack = t.stack[:i]
				// A one-node component without a self-loop is of no
				// interest to the callers: skip the copy.
				if len(comp) > 1 || t.selfLoop(v) {
					comps = append(comps, slices.Clone(comp))
				}
			}
		}
	}
	return comps
}
