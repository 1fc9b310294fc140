package graph

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/flowrun/flowrun/registry"
)

// A rawFlow is a flow file that passed the schema, before its names are
// resolved.
type rawFlow struct {
	file        string
	name        string
	description string
	inputs      []*rawInput
	outputs     []*entry
	nodes       []*rawNode
}

// A rawInput is an input a subflow file declares.
type rawInput struct {
	name       string
	pos        Pos
	typ        registry.JSONType
	hasDefault bool
	def        any
	defAt      place
}

// An entry is one key: value of a node's inputs, with, defaults or after,
// or of a file's outputs.
type entry struct {
	name string
	// at is where the key was written (for after, the item).
	at place
	// val is the value; ref is the value of a reference.
	val   any
	ref   string
	valAt place
}

// A rawNode is one node as written in a file.
type rawNode struct {
	id       string
	pos      Pos
	typ      string
	typePos  Pos
	inputs   []*entry
	with     []*entry
	defaults []*entry
	after    []*entry
	// pol holds the policy keys written, if any (see policy).
	pol *policy
}

// policy returns the policy keys written on the node.
func (n *rawNode) policy() policy {
	if n.pol == nil {
		return policy{}
	}
	return *n.pol
}

// setPolicy returns the node's policy keys, to write one.
func (n *rawNode) setPolicy() *policy {
	if n.pol == nil {
		n.pol = &policy{}
	}
	return n.pol
}

// A policy holds a node's error and run limits; the *Set fields say which
// were written, so that a subflow node passes the others down.
type policy struct {
	onError        string
	onErrorSet     bool
	retry          *Retry
	retrySet       bool
	maxGenerations int
	maxGenSet      bool
	placement      string
	placementAt    place
}

// inherit fills what p does not set from outer.
func (p policy) inherit(outer policy) policy {
	if !p.onErrorSet && outer.onErrorSet {
		p.onError, p.onErrorSet = outer.onError, true
	}
	if !p.retrySet && outer.retrySet {
		p.retry, p.retrySet = outer.retry, true
	}
	if !p.maxGenSet && outer.maxGenSet {
		p.maxGenerations, p.maxGenSet = outer.maxGenerations, true
	}
	return p
}

func (n *rawNode) isSubflow() bool {
	return strings.HasSuffix(n.typ, ".yaml") || strings.HasSuffix(n.typ, ".yml")
}

func findEntry(es []*entry, name string) *entry {
	for _, e := range es {
		if e.name == name {
			return e
		}
	}
	return nil
}

func (f *rawFlow) input(name string) *rawInput {
	for _, in := range f.inputs {
		if in.name == name {
			return in
		}
	}
	return nil
}

func (f *rawFlow) inputNames() []string {
	names := make([]string, len(f.inputs))
	for i, in := range f.inputs {
		names[i] = in.name
	}
	return names
}

func (f *rawFlow) outputNames() []string {
	names := make([]string, len(f.outputs))
	for i, o := range f.outputs {
		names[i] = o.name
	}
	return names
}

// Defaults of a retry policy whose keys are left out.
const (
	defaultAttempts = 3
	defaultDelay    = 100 * time.Millisecond
	defaultMaxDelay = 10 * time.Second
)

// readFlow builds the rawFlow of a tree that passed the schema. It checks
// what the schema cannot: durations. It consumes the node entries of
// root (their trees are let go as they are read).
func readFlow(file string, root *tree, errs *ErrorList) *rawFlow {
	f := &rawFlow{file: file}
	f.name, _ = root.get("name").value().(string)
	f.description, _ = root.get("description").value().(string)
	if f.name == "" {
		base := filepath.Base(file)
		f.name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if ins := root.get("inputs"); ins != nil {
		for i, name := range ins.keys {
			d := ins.kids[i]
			in := &rawInput{name: name, pos: ins.keyPos[i]}
			if t, ok := d.get("type").value().(string); ok && t != "any" {
				in.typ = registry.JSONType(t)
			}
			if def := d.get("default"); def != nil {
				in.hasDefault, in.def, in.defAt = true, def.json(), placeOf(def)
				if !in.typ.Accepts(in.def) {
					errs.addAt(in.defAt, "the default of input %q takes %s, got %s", name, typeName(string(in.typ)), show(def))
				}
			}
			f.inputs = append(f.inputs, in)
		}
	}
	if outs := root.get("outputs"); outs != nil {
		f.outputs = entries(outs)
	}
	if nodes := root.get("nodes"); nodes != nil {
		f.nodes = make([]*rawNode, 0, len(nodes.keys))
		f.readNodes(nodes, 0, errs)
	}
	return f
}

// readNodes reads the entries of the nodes mapping from index from on,
// and lets their trees go, so that a large flow's tree and raw nodes are
// not all held at once.
func (f *rawFlow) readNodes(nodes *tree, from int, errs *ErrorList) {
	for i := from; i < len(nodes.keys); i++ {
		f.nodes = append(f.nodes, readNode(nodes.keys[i], nodes.keyPos[i], nodes.kids[i], errs))
		nodes.kids[i] = nil
	}
}

// value returns a scalar's value; nil for a missing key.
func (t *tree) value() any {
	if t == nil {
		return nil
	}
	return t.val
}

func entries(m *tree) []*entry {
	if m == nil || m.kind != mapKind {
		return nil
	}
	es := make([]*entry, len(m.keys))
	for i, k := range m.keys {
		v := m.kids[i]
		at := place{pos: m.keyPos[i]}
		if v.set != "" {
			at = place{set: v.set}
		}
		ref, _ := v.val.(string)
		es[i] = &entry{name: k, at: at, val: v.json(), ref: ref, valAt: placeOf(v)}
	}
	return es
}

func readNode(id string, pos Pos, t *tree, errs *ErrorList) *rawNode {
	n := &rawNode{id: id, pos: pos}
	if typ := t.get("type"); typ != nil {
		n.typ, _ = typ.val.(string)
		n.typePos = typ.pos
	}
	n.inputs = entries(t.get("inputs"))
	n.with = entries(t.get("with"))
	n.defaults = entries(t.get("defaults"))
	if after := t.get("after"); after != nil {
		for _, item := range after.kids {
			s, _ := item.val.(string)
			n.after = append(n.after, &entry{name: s, at: placeOf(item), ref: s, valAt: placeOf(item)})
		}
	}
	if oe, ok := t.get("on_error").value().(string); ok {
		p := n.setPolicy()
		p.onError, p.onErrorSet = oe, true
	}
	if mg := t.get("max_generations"); mg != nil {
		if v, ok := mg.val.(int); ok {
			p := n.setPolicy()
			p.maxGenerations, p.maxGenSet = v, true
		}
	}
	if pl := t.get("placement"); pl != nil {
		p := n.setPolicy()
		p.placement, _ = pl.val.(string)
		p.placementAt = placeOf(pl)
	}
	if rt := t.get("retry"); rt != nil {
		p := n.setPolicy()
		p.retry, p.retrySet = readRetry(rt, errs), true
	}
	return n
}

func readRetry(t *tree, errs *ErrorList) *Retry {
	r := &Retry{Attempts: defaultAttempts, Delay: defaultDelay, MaxDelay: defaultMaxDelay}
	if a, ok := t.get("attempts").value().(int); ok {
		r.Attempts = a
	}
	dur := func(key string, into *time.Duration) {
		d := t.get(key)
		s, ok := d.value().(string)
		if !ok {
			return
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			errs.addAt(placeOf(d), "invalid duration %q: write it like \"100ms\", \"2s\" or \"1m30s\"", s)
			return
		}
		*into = v
	}
	dur("delay", &r.Delay)
	dur("max_delay", &r.MaxDelay)
	if t.get("max_delay") == nil && r.MaxDelay < r.Delay {
		r.MaxDelay = r.Delay
	}
	if r.MaxDelay < r.Delay {
		errs.addAt(placeOf(t.get("max_delay")), "max_delay %s is shorter than delay %s: make it at least as long", r.MaxDelay, r.Delay)
	}
	return r
}
