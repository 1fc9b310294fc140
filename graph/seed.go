package graph

import "slices"

// Finding where every cycle starts, in almost linear time.
//
// The contract's rule is recursive: in a strongly connected component C,
// the first node h in file order whose inputs from inside C all have
// defaults (a candidate) starts C; once h's inputs from C are fed by
// defaults, h is on no cycle of C any more, and each strongly connected
// component of C - h is treated the same way. Recomputing the components
// after each start costs O(|C|) each time, which is quadratic on a
// component that loses one node per step.
//
// decompose instead runs one depth-first search of C from h and builds
// its loop nesting forest (Havlak's algorithm, with union-find): loop(c)
// is the set of descendants of c that reach c through descendants of c.
// The strongly connected components of C - h are exactly the loops whose
// header is a child of h in the forest, and within loop(c) the components
// of loop(c) - c are the loops of c's children. So as long as the
// candidate of each loop is its header, the whole nesting comes from the
// one search. The candidate of every loop is found at once: a node x is a
// candidate of each loop on its forest path from x up to (excluding) the
// deepest loop that contains one of x's predecessors over a hard edge,
// and painting those paths in file order of x, skipping painted loops
// with union-find, gives each loop its first candidate. A loop whose
// candidate is not its header is decomposed again, from its candidate.

// A seedTask is a strongly connected set of nodes and the node that
// starts it.
type seedTask struct {
	nodes []int32
	start int32
}

// seedAll marks the Seeded inputs of every cycle. It requires that every
// cycle has an edge with a default (analyseCycles checked it).
func (a *cycleAnalysis) seedAll(all []int32) {
	g := a.g
	a.lf.init(len(a.flow.Nodes))
	lf := &a.lf
	var tasks []seedTask
	for _, comp := range a.tarjan.run(all, 0) {
		slices.Sort(comp)
		lf.cur++
		for _, v := range comp {
			lf.mark[v] = lf.cur
		}
		for _, v := range comp {
			if !slices.ContainsFunc(g.in(v), func(e int32) bool {
				return lf.mark[g.edges[e].from] == lf.cur && g.edges[e].hard()
			}) {
				tasks = append(tasks, seedTask{nodes: comp, start: v})
				break
			}
		}
	}
	for len(tasks) > 0 {
		t := tasks[len(tasks)-1]
		tasks = a.decompose(t, tasks[:len(tasks)-1])
	}
}

// loopForest is the scratch state of decompose, indexed by node.
type loopForest struct {
	cur   int32
	mark  []int32 // == cur: the node is in the set being decomposed
	pre   []int32 // depth-first preorder number
	last  []int32 // largest preorder number in the node's subtree
	uf    []int32 // union-find parent: the loop a node was collapsed into
	hdr   []int32 // loop forest parent (-1 for the root)
	loop  []bool  // the node heads a loop (has a back edge)
	extra [][]int32
	inP   []int32
	pcur  int32
	order []int32

	kidAt  []int32
	kids   []int32
	fpre   []int32 // forest preorder; forder[fpre[v]] == v
	fend   []int32
	depth  []int32
	forder []int32
	limit  []int32
	paint  []int32 // first candidate of the loop headed here, or -1
	puf    []int32 // union-find over painted forest nodes
}

func (lf *loopForest) init(n int) {
	mk := func() []int32 { return make([]int32, n) }
	lf.mark, lf.pre, lf.last, lf.uf, lf.hdr = mk(), mk(), mk(), mk(), mk()
	lf.inP, lf.fpre, lf.fend, lf.depth, lf.paint, lf.puf = mk(), mk(), mk(), mk(), mk(), mk()
	lf.kidAt = make([]int32, n+2)
	lf.limit = mk()
	lf.loop = make([]bool, n)
	lf.extra = make([][]int32, n)
}

func (lf *loopForest) find(v int32) int32 {
	for lf.uf[v] != v {
		lf.uf[v] = lf.uf[lf.uf[v]]
		v = lf.uf[v]
	}
	return v
}

// pfind returns the nearest forest ancestor-or-self of v not yet painted,
// or -1.
func (lf *loopForest) pfind(v int32) int32 {
	for v >= 0 && lf.puf[v] != v {
		p := lf.puf[v]
		if p >= 0 && lf.puf[p] != p {
			lf.puf[v] = lf.puf[p]
		}
		v = lf.puf[v]
	}
	return v
}

func (lf *loopForest) isAnc(w, u int32) bool {
	return lf.pre[w] <= lf.pre[u] && lf.pre[u] <= lf.last[w]
}

// decompose seeds t.start and every nested cycle of t.nodes whose start
// heads its loop, and appends a task for every loop started elsewhere.
func (a *cycleAnalysis) decompose(t seedTask, tasks []seedTask) []seedTask {
	g, lf := a.g, &a.lf
	lf.cur++
	cur := lf.cur
	for _, v := range t.nodes {
		lf.mark[v] = cur
		lf.pre[v] = -1
		lf.hdr[v] = -1
		lf.uf[v] = v
		lf.puf[v] = v
		lf.paint[v] = -1
		lf.loop[v] = false
		lf.extra[v] = nil
	}
	inside := func(e int32) bool { return !g.removed[e] && lf.mark[g.edges[e].from] == cur }

	// Depth-first search from the start.
	type frame struct{ v, next int32 }
	lf.order = lf.order[:0]
	stack := []frame{{t.start, g.outAt[t.start]}}
	lf.pre[t.start] = 0
	lf.order = append(lf.order, t.start)
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < g.outAt[f.v+1] {
			e := g.outList[f.next]
			f.next++
			w := g.edges[e].to
			if g.removed[e] || lf.mark[w] != cur || lf.pre[w] >= 0 {
				continue
			}
			lf.pre[w] = int32(len(lf.order))
			lf.order = append(lf.order, w)
			stack = append(stack, frame{w, g.outAt[w]})
			continue
		}
		lf.last[f.v] = int32(len(lf.order)) - 1
		stack = stack[:len(stack)-1]
	}

	// Loop nesting forest, innermost loops first.
	var body []int32
	for i := len(lf.order) - 1; i >= 0; i-- {
		w := lf.order[i]
		body = body[:0]
		lf.pcur++
		add := func(y int32) {
			y = lf.find(y)
			if y != w && lf.inP[y] != lf.pcur {
				lf.inP[y] = lf.pcur
				body = append(body, y)
			}
		}
		for _, e := range g.in(w) {
			if u := g.edges[e].from; inside(e) && lf.isAnc(w, u) {
				if u == w {
					lf.loop[w] = true
				} else {
					add(u)
				}
			}
		}
		if len(body) == 0 {
			continue
		}
		lf.loop[w] = true
		visit := func(y int32) {
			if !lf.isAnc(w, lf.find(y)) {
				lf.extra[w] = append(lf.extra[w], y)
				return
			}
			add(y)
		}
		for k := 0; k < len(body); k++ {
			x := body[k]
			for _, e := range g.in(x) {
				if y := g.edges[e].from; inside(e) && !lf.isAnc(x, y) {
					visit(y)
				}
			}
			for _, y := range lf.extra[x] {
				visit(y)
			}
			lf.extra[x] = nil
		}
		for _, x := range body {
			lf.hdr[x] = w
			lf.uf[x] = w
		}
	}

	// The forest's children lists, preorder and depths.
	n := int32(len(lf.order))
	kidAt := lf.kidAt[:n+2]
	clear(kidAt)
	for _, v := range lf.order {
		if p := lf.hdr[v]; p >= 0 {
			kidAt[lf.pre[p]+2]++
		}
	}
	for i := int32(2); i < n+2; i++ {
		kidAt[i] += kidAt[i-1]
	}
	lf.kids = slices.Grow(lf.kids[:0], int(n))[:n]
	for _, v := range lf.order {
		if p := lf.hdr[v]; p >= 0 {
			lf.kids[kidAt[lf.pre[p]+1]] = v
			kidAt[lf.pre[p]+1]++
		}
	}
	// Now the children of v are kids[kidAt[pre[v]]:kidAt[pre[v]+1]].
	lf.forder = lf.forder[:0]
	fstack := []int32{t.start}
	lf.depth[t.start] = 0
	for len(fstack) > 0 {
		v := fstack[len(fstack)-1]
		fstack = fstack[:len(fstack)-1]
		lf.fpre[v] = int32(len(lf.forder))
		lf.forder = append(lf.forder, v)
		for _, c := range lf.kids[kidAt[lf.pre[v]]:kidAt[lf.pre[v]+1]] {
			lf.depth[c] = lf.depth[v] + 1
			fstack = append(fstack, c)
		}
	}
	for i := len(lf.forder) - 1; i >= 0; i-- {
		v := lf.forder[i]
		lf.fend[v] = int32(i) + 1
		for _, c := range lf.kids[kidAt[lf.pre[v]]:kidAt[lf.pre[v]+1]] {
			lf.fend[v] = max(lf.fend[v], lf.fend[c])
		}
	}
	inLoop := func(l, u int32) bool { return lf.fpre[l] <= lf.fpre[u] && lf.fpre[u] < lf.fend[l] }

	// limit[x] is the depth of the deepest loop containing x and one of
	// x's hard predecessors (-1: none); x is a candidate of the loops
	// deeper than that on its path.
	limit := lf.limit
	var anc []int32
	for _, x := range lf.forder {
		for len(anc) > 0 && lf.fend[anc[len(anc)-1]] <= lf.fpre[x] {
			anc = anc[:len(anc)-1]
		}
		d := int32(-1)
		for _, e := range g.in(x) {
			u := g.edges[e].from
			if !inside(e) || !g.edges[e].hard() {
				continue
			}
			if inLoop(x, u) {
				d = lf.depth[x]
				break
			}
			// anc[:j] contain u, anc[j:] do not.
			j, _ := slices.BinarySearchFunc(anc, u, func(l, u int32) int {
				if inLoop(l, u) {
					return -1
				}
				return 1
			})
			if j > 0 {
				d = max(d, lf.depth[anc[j-1]])
			}
		}
		limit[x] = d
		anc = append(anc, x)
	}
	byIndex := slices.Clone(t.nodes)
	slices.Sort(byIndex)
	for _, x := range byIndex {
		for l := lf.pfind(x); l >= 0 && lf.depth[l] > limit[x] && lf.depth[l] > 0; l = lf.pfind(lf.hdr[l]) {
			lf.paint[l] = x
			lf.puf[l] = lf.hdr[l]
		}
	}

	// Walk the forest from the start: a loop whose candidate is its
	// header is seeded here, any other is decomposed again.
	seed := func(v int32, in func(u int32) bool) {
		for _, e := range g.in(v) {
			if u := g.edges[e].from; inside(e) && in(u) {
				g.edges[e].b.Seeded = true
				g.removed[e] = true
			}
		}
	}
	walk := []int32{t.start}
	for len(walk) > 0 {
		v := walk[len(walk)-1]
		walk = walk[:len(walk)-1]
		for _, c := range lf.kids[kidAt[lf.pre[v]]:kidAt[lf.pre[v]+1]] {
			switch s := lf.paint[c]; {
			case !lf.loop[c] || s < 0:
				// Not on a cycle (s < 0 cannot happen on a loop when
				// every cycle has a default).
			case s == c:
				seed(c, func(u int32) bool { return inLoop(c, u) })
				walk = append(walk, c)
			default:
				members := slices.Clone(lf.forder[lf.fpre[c]:lf.fend[c]])
				tasks = append(tasks, seedTask{nodes: members, start: s})
			}
		}
	}
	seed(t.start, func(int32) bool { return true })
	return tasks
}
