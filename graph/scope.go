package graph

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A scope is one instance of a flow file: the top-level file, or a
// subflow expanded for one node of its parent.
type scope struct {
	raw    *rawFlow
	prefix string // prepended to the ids of the scope's nodes
	parent *scope
	node   *rawNode // the node of parent that uses this subflow
	chain  []string // the files from the top-level one to this one
	policy policy   // on_error, retry and limits set on enclosing nodes
	// after holds the ordering dependencies set on enclosing nodes.
	after []*Binding
	// members holds the members by id (of the top-level scope, only its
	// subflows and broken members: see loader.member); ids lists the ids
	// in file order.
	members map[string]*member
	ids     []string
	args    map[string]*memo
	outs    map[string]*memo
	// first and end delimit the scope's nodes in Flow.Nodes.
	first, end int
}

// A member is one node of a scope: a node of the flow, or a subflow.
type member struct {
	raw  *rawNode
	node *Node
	sub  *scope
	// broken members had errors; references to them are not reported
	// again.
	broken bool
}

// A memo caches the resolution of a subflow input or output.
type memo struct {
	state int // 0 new, 1 resolving, 2 done
	src   source
	ok    bool
}

// maxNesting limits how deeply subflows may include subflows.
const maxNesting = 64

// newScope returns the scope of raw; members has room for n.
func newScope(raw *rawFlow, n int, prefix string, parent *scope, node *rawNode, chain []string) *scope {
	return &scope{
		raw: raw, prefix: prefix, parent: parent, node: node, chain: chain,
		members: make(map[string]*member, n),
		args:    map[string]*memo{},
		outs:    map[string]*memo{},
	}
}

// build creates the nodes of sc and of its subflows, in file order.
func (l *loader) build(sc *scope) {
	l.buildStart(sc, len(sc.raw.nodes))
	for _, rn := range sc.raw.nodes {
		l.buildMember(sc, rn)
	}
	sc.end = len(l.flow.Nodes)
}

// buildStart makes room for the n nodes of sc, whose nodes come next in
// Flow.Nodes.
func (l *loader) buildStart(sc *scope, n int) {
	sc.first = len(l.flow.Nodes)
	sc.ids = make([]string, 0, n)
	l.flow.Nodes = slices.Grow(l.flow.Nodes, n)
}

// buildMember creates the member of sc for rn: its node or, for a
// subflow, the nodes of the subflow.
func (l *loader) buildMember(sc *scope, rn *rawNode) member {
	sc.ids = append(sc.ids, rn.id)
	if rn.isSubflow() {
		m := &member{raw: rn}
		sc.members[rn.id] = m
		m.sub = l.openSubflow(sc, rn)
		if m.sub == nil {
			m.broken = true
			return *m
		}
		l.build(m.sub)
		return *m
	}
	spec, ok := l.lookup(rn.typ)
	var reason string
	refused := false
	if !ok {
		reason, refused = l.reg.Refused(rn.typ)
	}
	if refused {
		l.errs.Add(rn.typePos, "%s", refusedMessage(rn.id, rn.typ, reason))
		sc.members[rn.id] = &member{raw: rn, broken: true}
		return member{raw: rn, broken: true}
	}
	if !ok {
		l.errs.Add(rn.typePos, "unknown node type %q%s: use a registered type or the path of a subflow file ending in .yaml", rn.typ, didYouMean(rn.typ, l.reg.Types()))
		sc.members[rn.id] = &member{raw: rn, broken: true}
		return member{raw: rn, broken: true}
	}
	own := rn.policy()
	p := own.inherit(sc.policy)
	n := &Node{
		ID:             sc.prefix + rn.id,
		Type:           spec.Type,
		Spec:           spec,
		Index:          len(l.flow.Nodes),
		Pos:            rn.pos,
		OnError:        p.onError,
		Retry:          p.retry,
		MaxGenerations: p.maxGenerations,
		Placement:      own.placement,
	}
	if n.Placement == PlaceWorker {
		if why := NotOnWorker(spec); why != "" {
			l.errs.addAt(own.placementAt, "placement: worker: node type %s cannot run on a worker: %s; remove the key or write placement: local", rn.typ, why)
		}
	}
	n.setTypePos(rn.typePos)
	if n.OnError == "" {
		n.OnError = "fail"
	}
	l.flow.Nodes = append(l.flow.Nodes, n)
	l.flow.byID[n.ID] = n
	if sc.parent != nil {
		sc.members[rn.id] = &member{raw: rn, node: n}
	}
	return member{raw: rn, node: n}
}

// member returns the member of sc named id. The top-level scope keeps
// only its subflows and broken members in sc.members: Flow.Node finds its
// other nodes, whose id is theirs (ids with a "/" are of subflows' nodes).
func (l *loader) member(sc *scope, id string) (member, bool) {
	if m := sc.members[id]; m != nil {
		return *m, true
	}
	if sc.parent == nil && !strings.Contains(id, "/") {
		if n := l.flow.byID[id]; n != nil {
			return member{node: n}, true
		}
	}
	return member{}, false
}

// openSubflow reads, parses and checks the subflow file rn uses, and
// returns its scope, or nil after reporting why it cannot.
func (l *loader) openSubflow(sc *scope, rn *rawNode) *scope {
	path := filepath.Clean(rn.typ)
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(sc.raw.file), path)
	}
	if i := slices.Index(sc.chain, path); i >= 0 {
		cycle := append(slices.Clone(sc.chain[i:]), path)
		l.errs.Add(rn.typePos, "subflow %q includes itself: %s; a subflow cannot use itself, directly or indirectly", rn.typ, strings.Join(cycle, " -> "))
		return nil
	}
	if len(sc.chain) >= maxNesting {
		l.errs.Add(rn.typePos, "subflows are nested more than %d deep", maxNesting)
		return nil
	}
	if l.opts.ReadFile == nil {
		l.errs.Add(rn.typePos, "cannot read subflow %q: subflows need a file reader (graph.Options.ReadFile)", rn.typ)
		return nil
	}
	pf := l.files[path]
	if pf == nil {
		pf = &parsedFile{}
		l.files[path] = pf
		src, err := l.opts.ReadFile(path)
		if err != nil {
			pf.readErr = err
		} else {
			raw, errs := l.parse(path, src, nil, false)
			l.errs = append(l.errs, errs...)
			if len(errs) == 0 {
				pf.raw = raw
			}
		}
	}
	var outside *OutsideRootError
	if errors.As(pf.readErr, &outside) {
		where := "is " + outside.Path
		if outside.Link != "" {
			where = "leads, through a symbolic link, to " + outside.Link
		}
		l.errs.Add(rn.typePos, "subflow %q %s, outside the root %s: a flow may use only subflows inside its project; move the file into it, or set the root (flowrun --root DIR)", rn.typ, where, outside.Root)
		return nil
	}
	if pf.readErr != nil {
		l.errs.Add(rn.typePos, "cannot read subflow %q: %v", rn.typ, pf.readErr)
		return nil
	}
	if pf.raw == nil {
		return nil // its errors are reported in its own file
	}
	child := newScope(pf.raw, len(pf.raw.nodes), sc.prefix+rn.id+"/", sc, rn, append(slices.Clip(sc.chain), path))
	child.policy = rn.policy().inherit(sc.policy)
	return child
}

func quote(s string) string { return strconv.Quote(s) }

// describe names a member in messages: `node "a" (math.inc)`.
func (m member) describe(sc *scope) string {
	if m.node != nil {
		return fmt.Sprintf("node %q (%s)", m.node.ID, m.node.Type)
	}
	return fmt.Sprintf("node %q (%s)", sc.prefix+m.raw.id, m.raw.typ)
}

// A memberName names a member in messages (%s), as describe does; its
// text is built only for an error.
type memberName struct {
	sc *scope
	m  member
}

func (w memberName) String() string { return w.m.describe(w.sc) }
