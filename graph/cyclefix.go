package graph

import (
	"fmt"
	"slices"
	"strings"
)

// Limits of the search for fixes of a cycle that cannot start: how many
// options a message lists, and how much work (edge visits) the search may
// do before it settles for one fix that works but may not be the
// smallest.
const (
	maxFixOptions = 8
	fixBudget     = 4_000_000
)

// A stuckGraph is the strongly connected components of the hard edges
// (sets of cycles none of which can start) inside one component of the
// whole graph, with their internal hard edges and local node numbers in
// file order.
type stuckGraph struct {
	nodes    []int32 // flow node index of each local node, ascending
	from, to []int32 // local edges
	eid      []int32 // the digraph edge of each local edge
	inAt     []int32
	inList   []int32
	outAt    []int32
	outList  []int32
	work     int
	partial  bool // the budget ran out before every option was found
}

func (a *cycleAnalysis) stuckGraph(comp, hcomp []int32) *stuckGraph {
	g := a.g
	local := make(map[int32]int32, len(comp))
	for i, v := range comp {
		local[v] = int32(i)
	}
	s := &stuckGraph{nodes: comp}
	for i, v := range comp {
		for _, e := range g.in(v) {
			from := g.edges[e].from
			if u, ok := local[from]; ok && g.edges[e].hard() && hcomp[from] == hcomp[v] {
				s.from = append(s.from, u)
				s.to = append(s.to, int32(i))
				s.eid = append(s.eid, e)
			}
		}
	}
	n, m := len(comp), len(s.from)
	s.inAt, s.outAt = make([]int32, n+1), make([]int32, n+1)
	for k := range m {
		s.inAt[s.to[k]+1]++
		s.outAt[s.from[k]+1]++
	}
	for i := range n {
		s.inAt[i+1] += s.inAt[i]
		s.outAt[i+1] += s.outAt[i]
	}
	s.inList, s.outList = make([]int32, m), make([]int32, m)
	inNext, outNext := slices.Clone(s.inAt[:n]), slices.Clone(s.outAt[:n])
	for k := range m {
		s.inList[inNext[s.to[k]]] = int32(k)
		inNext[s.to[k]]++
		s.outList[outNext[s.from[k]]] = int32(k)
		outNext[s.from[k]]++
	}
	return s
}

func (s *stuckGraph) ins(v int32) []int32  { return s.inList[s.inAt[v]:s.inAt[v+1]] }
func (s *stuckGraph) outs(v int32) []int32 { return s.outList[s.outAt[v]:s.outAt[v+1]] }

// acyclic reports whether the graph without the cut edges has no cycle.
func (s *stuckGraph) acyclic(cut []bool) bool {
	n := len(s.nodes)
	s.work += n + len(s.from)
	deg := make([]int32, n)
	for k := range s.from {
		if !cut[k] {
			deg[s.to[k]]++
		}
	}
	var queue []int32
	for v := range n {
		if deg[v] == 0 {
			queue = append(queue, int32(v))
		}
	}
	seen := 0
	for len(queue) > 0 {
		v := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		seen++
		for _, k := range s.outs(v) {
			if !cut[k] {
				if deg[s.to[k]]--; deg[s.to[k]] == 0 {
					queue = append(queue, s.to[k])
				}
			}
		}
	}
	return seen == n
}

// findCycle returns the edges of a cycle of the graph without the cut
// edges, or nil.
func (s *stuckGraph) findCycle(cut []bool) []int32 {
	n := len(s.nodes)
	s.work += n + len(s.from)
	state := make([]int8, n) // 0 new, 1 on the path, 2 done
	via := make([]int32, n)  // edge by which a node on the path was entered
	type frame struct{ v, next int32 }
	for r := range n {
		if state[r] != 0 {
			continue
		}
		stack := []frame{{int32(r), s.outAt[r]}}
		state[r] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == s.outAt[f.v+1] {
				state[f.v] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			k := s.outList[f.next]
			f.next++
			if cut[k] {
				continue
			}
			w := s.to[k]
			switch state[w] {
			case 0:
				state[w] = 1
				via[w] = k
				stack = append(stack, frame{w, s.outAt[w]})
			case 1:
				cycle := []int32{k}
				for v := f.v; v != w; v = s.from[via[v]] {
					cycle = append(cycle, via[v])
				}
				return cycle
			}
		}
	}
	return nil
}

func (s *stuckGraph) connected(a *cycleAnalysis, k int32) bool {
	return a.g.edges[s.eid[k]].b.Kind == Connected
}

// report adds the error for the stuck components comp (sorted) of one
// component of the graph: the cycle through its first node and the sets
// of inputs whose defaults would let every cycle through its nodes start. Each option, applied alone, is checked to do
// so: when one node's inputs are enough, the options are such nodes; else
// they are the smallest sets of inputs that are.
func (a *cycleAnalysis) report(comp, hcomp []int32) {
	s := a.stuckGraph(comp, hcomp)
	nodes := a.flow.Nodes
	m := len(s.from)
	msg := "cycle " + strings.Join(s.path(a), " -> ") + " cannot start: "

	var blocked []string
	for v := range comp {
		var afters []string
		for _, k := range s.ins(int32(v)) {
			if !s.connected(a, k) {
				b := a.g.edges[s.eid[k]].b
				afters = append(afters, fmt.Sprintf("%s (%s)", b.Name, b.Pos))
			}
		}
		if len(afters) > 0 {
			blocked = append(blocked, fmt.Sprintf("%s waits under after: for %s", nodes[comp[v]].ID, strings.Join(afters, " and ")))
		}
	}
	orderOnly := make([]bool, m)
	for k := range m {
		orderOnly[k] = s.connected(a, int32(k))
	}
	if !s.acyclic(orderOnly) {
		msg += "every node waits under after: for a node of the cycle, and an after: dependency takes no default (" +
			strings.Join(blocked, "; ") + "); remove one of these after: entries or turn it into a connection with a default"
		a.errs.Add(nodes[comp[0]].Pos, "%s", msg)
		return
	}

	options, exact := s.nodeOptions(a)
	single := len(options) > 0
	if !single {
		options, exact = s.smallestOptions(a)
	}
	msg += "no node has defaults for all its inputs from inside the cycle"
	if !single {
		msg += ", and defaults on one node's inputs would leave a cycle through " + s.names(a) + " unable to start"
	}
	texts := make([]string, len(options))
	for i, o := range options {
		parts := make([]string, len(o))
		for j, k := range o {
			b := a.g.edges[s.eid[k]].b
			parts[j] = fmt.Sprintf("%s.%s (%s)", nodes[comp[s.to[k]]].ID, b.Name, b.Pos)
		}
		texts[i] = strings.Join(parts, " AND ")
	}
	switch {
	case !exact:
		msg += "; for example, add defaults to " + texts[0]
	case len(texts) > maxFixOptions && !s.partial:
		msg += "; add defaults to " + strings.Join(texts[:maxFixOptions], " OR ") +
			fmt.Sprintf(" (%d of %d ways)", maxFixOptions, len(texts))
	case len(texts) > maxFixOptions || s.partial:
		msg += "; add defaults to " + strings.Join(texts[:min(len(texts), maxFixOptions)], " OR ") +
			" (some of the ways)"
	default:
		msg += "; add defaults to " + strings.Join(texts, " OR ")
	}
	if len(blocked) > 0 {
		msg += "; " + strings.Join(blocked, ", ") + ", and an after: dependency takes no default"
	}
	a.errs.Add(nodes[comp[0]].Pos, "%s", msg)
}

// names lists the component's node ids, the first ten of them.
func (s *stuckGraph) names(a *cycleAnalysis) string {
	var ids []string
	for i, v := range s.nodes {
		if i == 10 {
			ids = append(ids, fmt.Sprintf("%d more", len(s.nodes)-10))
			break
		}
		ids = append(ids, a.flow.Nodes[v].ID)
	}
	return strings.Join(ids, ", ")
}

// nodeOptions returns, in file order, the nodes whose inputs from inside
// the component, once fed by defaults, let every cycle of it start: each
// as the list of those inputs. exact is false when the search ran out of
// budget before checking every node and found none.
func (s *stuckGraph) nodeOptions(a *cycleAnalysis) (options [][]int32, exact bool) {
	cut := make([]bool, len(s.from))
	for v := range s.nodes {
		if s.work > fixBudget {
			s.partial = true
			break
		}
		ins := s.ins(int32(v))
		if slices.ContainsFunc(ins, func(k int32) bool { return !s.connected(a, k) }) {
			continue
		}
		for _, k := range ins {
			cut[k] = true
		}
		if s.acyclic(cut) {
			options = append(options, slices.Clone(ins))
		}
		for _, k := range ins {
			cut[k] = false
		}
	}
	return options, true
}

// smallestOptions returns the smallest sets of inputs whose defaults let
// every cycle of the component start (a minimum feedback arc set that
// avoids after: edges), by a search that branches on the edges of one
// remaining cycle. When the budget runs out first, it returns one set
// that works, and exact false.
func (s *stuckGraph) smallestOptions(a *cycleAnalysis) (options [][]int32, exact bool) {
	m := len(s.from)
	cut := make([]bool, m)
	seen := map[string]bool{}
	var chosen []int32
	var search func(depth int) bool // false: out of budget
	search = func(depth int) bool {
		if s.work > fixBudget {
			s.partial = true
			return false
		}
		cycle := s.findCycle(cut)
		if cycle == nil {
			if depth == 0 {
				o := slices.Clone(chosen)
				slices.Sort(o)
				key := fmt.Sprint(o)
				if !seen[key] {
					seen[key] = true
					options = append(options, o)
				}
			}
			return true
		}
		if depth == 0 {
			return true
		}
		for _, k := range cycle {
			if cut[k] || !s.connected(a, k) {
				continue
			}
			cut[k] = true
			chosen = append(chosen, k)
			ok := search(depth - 1)
			chosen = chosen[:len(chosen)-1]
			cut[k] = false
			if !ok {
				return false
			}
		}
		return true
	}
	for size := 1; size <= m && len(options) == 0; size++ {
		if !search(size) {
			break
		}
	}
	if len(options) > 0 {
		slices.SortFunc(options, func(x, y []int32) int {
			return slices.Compare(s.key(x), s.key(y))
		})
		return options, true
	}
	return [][]int32{s.someFix(a)}, false
}

// key orders an option by the file positions of its inputs.
func (s *stuckGraph) key(o []int32) []int32 {
	k := make([]int32, 0, 2*len(o))
	for _, e := range o {
		k = append(k, s.to[e], s.eid[e])
	}
	return k
}

// someFix returns a set of inputs whose defaults let every cycle start:
// the connections that go backwards in a topological order of the after:
// edges.
func (s *stuckGraph) someFix(a *cycleAnalysis) []int32 {
	n := len(s.nodes)
	deg := make([]int32, n)
	for k := range s.from {
		if !s.connected(a, int32(k)) {
			deg[s.to[k]]++
		}
	}
	rank := make([]int32, n)
	var queue []int32
	for v := range n {
		if deg[v] == 0 {
			queue = append(queue, int32(v))
		}
	}
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		rank[v] = int32(i)
		for _, k := range s.outs(v) {
			if !s.connected(a, k) {
				if deg[s.to[k]]--; deg[s.to[k]] == 0 {
					queue = append(queue, s.to[k])
				}
			}
		}
	}
	var fix []int32
	for k := range s.from {
		if rank[s.from[k]] >= rank[s.to[k]] {
			fix = append(fix, int32(k))
		}
	}
	return fix
}

// path returns the ids of a shortest cycle of the component through its
// first node, first node repeated at the end.
func (s *stuckGraph) path(a *cycleAnalysis) []string {
	prev := make([]int32, len(s.nodes))
	for i := range prev {
		prev[i] = -2
	}
	prev[0] = -1
	queue := []int32{0}
	last := int32(-1)
	for len(queue) > 0 && last < 0 {
		v := queue[0]
		queue = queue[1:]
		for _, k := range s.outs(v) {
			w := s.to[k]
			if w == 0 {
				last = v
				break
			}
			if prev[w] == -2 {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	ids := []string{a.flow.Nodes[s.nodes[0]].ID}
	for v := last; v >= 0; v = prev[v] {
		ids = append(ids, a.flow.Nodes[s.nodes[v]].ID)
	}
	slices.Reverse(ids)
	return ids
}
