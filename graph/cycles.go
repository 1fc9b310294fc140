package graph

import (
	"fmt"
	"slices"
	"strings"
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
	b        *Binding
}

func newDigraph(f *Flow) *digraph {
	n := len(f.Nodes)
	g := &digraph{outAt: make([]int32, n+1), inAt: make([]int32, n+1)}
	for _, node := range f.Nodes {
		for _, bs := range [][]*Binding{node.Inputs, node.After} {
			for _, b := range bs {
				if (b.Kind == Connected || b.Kind == Ordering) && b.From.Node != nil {
					e := depEdge{from: int32(b.From.Node.Index), to: int32(node.Index), b: b}
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

// analyseCycles finds every cycle of the flow and where it starts: for
// each strongly connected component, the first node in file order whose
// inputs from inside the component all have defaults. Those inputs are
// marked Seeded and the rest of the component is analysed again, so that
// nested cycles get a start too. A component without a possible start is
// reported, once, at its first node.
func analyseCycles(f *Flow, errs *ErrorList) {
	g := newDigraph(f)
	a := &cycleAnalysis{flow: f, g: g, errs: errs}
	a.tarjan.init(g, len(f.Nodes))
	all := make([]int32, len(f.Nodes))
	for i := range all {
		all[i] = int32(i)
	}
	work := a.cycles(a.tarjan.run(all, 0))
	for len(work) > 0 {
		comp := work[len(work)-1]
		work = work[:len(work)-1]
		work = append(work, a.start(comp)...)
	}
}

type cycleAnalysis struct {
	flow   *Flow
	g      *digraph
	errs   *ErrorList
	tarjan tarjan
	cur    int32
}

// cycles keeps the components that contain a cycle.
func (a *cycleAnalysis) cycles(comps [][]int32) [][]int32 {
	var out [][]int32
	for _, c := range comps {
		if len(c) > 1 || a.selfLoop(c[0]) {
			out = append(out, c)
		}
	}
	return out
}

func (a *cycleAnalysis) selfLoop(v int32) bool {
	g := a.g
	for _, e := range g.outList[g.outAt[v]:g.outAt[v+1]] {
		if !g.removed[e] && g.edges[e].to == v {
			return true
		}
	}
	return false
}

// internal returns the active edges into v from the current component.
func (a *cycleAnalysis) internal(v int32) []int32 {
	g := a.g
	var es []int32
	for _, e := range g.inList[g.inAt[v]:g.inAt[v+1]] {
		if !g.removed[e] && a.tarjan.mark[g.edges[e].from] == a.cur {
			es = append(es, e)
		}
	}
	return es
}

// start finds where comp starts, seeds it and returns the cycles left in
// comp once that node's inputs from inside it are fed by defaults.
func (a *cycleAnalysis) start(comp []int32) [][]int32 {
	slices.Sort(comp)
	a.cur++
	for _, v := range comp {
		a.tarjan.mark[v] = a.cur
	}
	for _, v := range comp {
		es := a.internal(v)
		if !slices.ContainsFunc(es, func(e int32) bool {
			b := a.g.edges[e].b
			return b.Kind != Connected || !b.HasDefault
		}) {
			for _, e := range es {
				a.g.edges[e].b.Seeded = true
				a.g.removed[e] = true
			}
			return a.cycles(a.tarjan.run(comp, a.cur))
		}
	}
	a.report(comp)
	return nil
}

// report adds the error for a component no node can start.
func (a *cycleAnalysis) report(comp []int32) {
	nodes := a.flow.Nodes
	var options, blocked []string
	for _, v := range comp {
		var missing, afters []string
		for _, e := range a.internal(v) {
			b := a.g.edges[e].b
			switch {
			case b.Kind == Ordering:
				afters = append(afters, fmt.Sprintf("%s (%s)", b.Name, b.Pos))
			case !b.HasDefault:
				missing = append(missing, fmt.Sprintf("%s.%s (%s)", nodes[v].ID, b.Name, b.Pos))
			}
		}
		if len(afters) > 0 {
			blocked = append(blocked, fmt.Sprintf("%s waits under after: for %s", nodes[v].ID, strings.Join(afters, " and ")))
			continue
		}
		options = append(options, strings.Join(missing, " AND "))
	}
	msg := "cycle " + strings.Join(a.path(comp), " -> ") + " cannot start: "
	if len(options) > 0 {
		msg += "no node has defaults for all its inputs from inside the cycle; add defaults to " + strings.Join(options, " OR ")
		if len(blocked) > 0 {
			msg += "; " + strings.Join(blocked, ", ") + ", and an after: dependency takes no default"
		}
	} else {
		msg += "every node waits under after: for a node of the cycle, and an after: dependency takes no default (" +
			strings.Join(blocked, "; ") + "); remove one of these after: entries or turn it into a connection with a default"
	}
	a.errs.Add(nodes[comp[0]].Pos, "%s", msg)
}

// path returns the ids of a shortest cycle through the component's first
// node, first node repeated at the end.
func (a *cycleAnalysis) path(comp []int32) []string {
	g := a.g
	s := comp[0]
	prev := map[int32]int32{s: -1}
	queue := []int32{s}
	last := int32(-1)
	for len(queue) > 0 && last < 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range g.outList[g.outAt[v]:g.outAt[v+1]] {
			w := g.edges[e].to
			if g.removed[e] || a.tarjan.mark[w] != a.cur {
				continue
			}
			if w == s {
				last = v
				break
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	var rev []string
	rev = append(rev, a.flow.Nodes[s].ID)
	for v := last; v >= 0; v = prev[v] {
		rev = append(rev, a.flow.Nodes[v].ID)
	}
	slices.Reverse(rev)
	return rev
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
// marked cur).
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
				var comp []int32
				for {
					w := t.stack[len(t.stack)-1]
					t.stack = t.stack[:len(t.stack)-1]
					t.onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}
