package graph

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

// bindScope binds the inputs of every node of sc and of its subflows.
func (l *loader) bindScope(sc *scope) {
	for _, rn := range sc.raw.nodes {
		m, _ := l.member(sc, rn.id)
		m.raw = rn // a plain node of the top-level scope is found without it
		switch {
		case m.broken:
		case m.sub != nil:
			l.bindSubflowNode(sc, m)
			l.bindScope(m.sub)
		default:
			l.bindNode(sc, m)
		}
	}
}

// bindNode builds the bindings of a node of the flow.
func (l *loader) bindNode(sc *scope, m member) {
	n, rn, spec := m.node, m.raw, m.node.Spec
	who := memberName{sc, m}
	conns := map[string]*entry{}
	consts := map[string]*entry{}
	defs := map[string]*entry{}
	var extra []*entry // variadic inputs
	declared := func(name string) bool {
		return slices.ContainsFunc(spec.Inputs, func(in registry.Input) bool { return in.Name == name })
	}
	lookup := func(e *entry) (registry.Input, bool) {
		decl, ok := spec.Input(e.name)
		if !ok {
			names := spec.InputNames()
			if len(names) == 0 {
				l.errs.addAt(e.at, "%s has no input %q: its type has no inputs", who, e.name)
			} else {
				l.errs.addAt(e.at, "%s has no input %q%s; its inputs are %s", who, e.name, didYouMean(e.name, names), quoteList(names))
			}
		}
		return decl, ok
	}
	for _, e := range rn.inputs {
		decl, ok := lookup(e)
		if !ok {
			continue
		}
		if decl.Const && !strings.HasPrefix(e.ref, "$") {
			l.errs.addAt(e.at, "input %q of %s is a parameter and cannot be connected: set it under with", e.name, who)
			continue
		}
		conns[e.name] = e
		if !declared(e.name) {
			extra = append(extra, e)
		}
	}
	for _, e := range rn.with {
		if _, ok := lookup(e); !ok {
			continue
		}
		if c := conns[e.name]; c != nil {
			l.errs.addAt(e.at, "input %q of %s is bound twice: connected under inputs at %s and set under with; keep one", e.name, who, c.at.pos)
			continue
		}
		consts[e.name] = e
		if !declared(e.name) {
			extra = append(extra, e)
		}
	}
	for _, e := range rn.defaults {
		decl, ok := lookup(e)
		if !ok {
			continue
		}
		l.checkValue(who, &decl, e.val, e.valAt)
		defs[e.name] = e
		if !declared(e.name) && conns[e.name] == nil && consts[e.name] == nil {
			extra = append(extra, e)
		}
	}
	// Variadic inputs follow the declared ones in file order; --set adds
	// its entries last.
	slices.SortStableFunc(extra, func(a, b *entry) int {
		return comparePlaces(a.at, b.at)
	})
	// The bindings point to the type's declarations; a variadic input's
	// declaration is its own.
	decls := make([]*registry.Input, 0, len(spec.Inputs)+len(extra))
	for i := range spec.Inputs {
		decls = append(decls, &spec.Inputs[i])
	}
	for _, e := range extra {
		decl, _ := spec.Input(e.name)
		decls = append(decls, &decl)
	}
	valueAt := map[string]place{}
	ok := true
	for _, decl := range decls {
		b, at := l.binding(sc, n, who, decl, conns[decl.Name], consts[decl.Name], defs[decl.Name])
		if b == nil {
			ok = false
			continue
		}
		valueAt[decl.Name] = at
		n.Inputs = append(n.Inputs, b)
	}
	n.After = l.afterBindings(sc, rn, who)
	for _, b := range sc.after {
		cp := *b
		n.After = append(n.After, &cp)
	}
	names := make([]string, len(n.Inputs))
	for i, b := range n.Inputs {
		names[i] = b.Name
		if b.Kind == Constant || (b.Kind == Defaulted && b.Spec.Const) {
			if n.Params == nil {
				n.Params = map[string]any{}
			}
			n.Params[b.Name] = b.Value
		}
	}
	if !ok {
		return
	}
	err := spec.CheckParams(registry.Config{ID: n.ID, Params: n.Params, Inputs: names, Dir: filepath.Dir(sc.raw.file)})
	if err == nil {
		return
	}
	var pe *registry.ParamError
	if errors.As(err, &pe) {
		at, found := valueAt[pe.Param]
		if !found || (at.pos == Pos{} && at.set == "") {
			at = place{pos: n.Pos}
		}
		l.errs.addAt(at, "%s: parameter %q: %v", who, pe.Param, pe.Err)
		return
	}
	l.errs.Add(n.Pos, "%s: %v", who, err)
}

// binding builds the binding of one input of n and returns it with the
// place its value was written (if it is a constant or a default).
func (l *loader) binding(sc *scope, n *Node, who memberName, decl *registry.Input, conn, cst, def *entry) (*Binding, place) {
	b := &Binding{Name: decl.Name, Spec: decl}
	var at place
	if def != nil {
		b.HasDefault, b.Default, b.DefaultPos = true, def.val, def.valAt.pos
		at = def.valAt
	} else if decl.HasDefault {
		b.HasDefault, b.Default = true, decl.Default
	}
	switch {
	case conn != nil:
		b.Pos = conn.at.pos
		src, ok := l.resolve(sc, conn.ref, referrer{node: n.ID, input: decl.Name}, conn.valAt)
		if !ok {
			return nil, at
		}
		if src.hasDef {
			b.HasDefault, b.Default, b.DefaultPos = true, src.def, src.defAt.pos
			if !l.checkValue(who, decl, src.def, src.defAt) {
				return nil, at
			}
		}
		if src.conn {
			if decl.Const {
				l.errs.addAt(src.refAt, "node %q feeds parameter %q of %s, which cannot be connected: bind it to a constant with with:", src.ref.Node.ID, decl.Name, who)
				return nil, at
			}
			b.Kind, b.From, b.Stream = Connected, src.ref, decl.Stream
			return b, at
		}
		b.Kind, b.Value = Constant, src.value
		if !l.checkValue(who, decl, src.value, src.valAt) {
			return nil, at
		}
		return b, src.valAt
	case cst != nil:
		b.Kind, b.Value, b.Pos = Constant, cst.val, cst.at.pos
		if cst.at.set != "" {
			b.Pos = Pos{}
		}
		if !l.checkValue(who, decl, cst.val, cst.valAt) {
			return nil, at
		}
		return b, cst.valAt
	case b.HasDefault:
		b.Kind, b.Value, b.Pos = Defaulted, b.Default, n.Pos
		return b, at
	}
	l.errs.Add(n.Pos, "input %q of %s is not bound: connect it under inputs, set it under with, or give it a default under defaults", decl.Name, who)
	return nil, at
}

// checkValue reports a constant or default of the wrong JSON type, or not
// in the input's enum.
func (l *loader) checkValue(who memberName, decl *registry.Input, v any, at place) bool {
	if !decl.Type.Accepts(v) {
		l.errs.addAt(at, "input %q of %s takes %s, got %s", decl.Name, who, typeName(string(decl.Type)), showValue(v))
		return false
	}
	if len(decl.Enum) > 0 && !slices.ContainsFunc(decl.Enum, func(e any) bool { return jsonText(e) == jsonText(v) }) {
		opts := make([]string, len(decl.Enum))
		for i, e := range decl.Enum {
			opts[i] = jsonText(e)
		}
		l.errs.addAt(at, "invalid value %s for input %q of %s: use one of %s", jsonText(v), decl.Name, who, strings.Join(opts, ", "))
		return false
	}
	return true
}

// bindSubflowNode checks how a node that uses a subflow binds the
// subflow's inputs, and resolves its after dependencies for the subflow's
// nodes.
func (l *loader) bindSubflowNode(sc *scope, m member) {
	rn, sub := m.raw, m.sub
	who := memberName{sc, m}
	names := sub.raw.inputNames()
	bound := map[string]*entry{}
	check := func(e *entry) *rawInput {
		decl := sub.raw.input(e.name)
		if decl == nil {
			if len(names) == 0 {
				l.errs.addAt(e.at, "subflow %s has no input %q: %s declares no inputs", who, e.name, sub.raw.file)
			} else {
				l.errs.addAt(e.at, "subflow %s has no input %q%s; its inputs are %s", who, e.name, didYouMean(e.name, names), quoteList(names))
			}
		}
		return decl
	}
	for _, e := range rn.inputs {
		if check(e) != nil {
			bound[e.name] = e
		}
	}
	for _, e := range rn.with {
		decl := check(e)
		if decl == nil {
			continue
		}
		if c := bound[e.name]; c != nil {
			l.errs.addAt(e.at, "input %q of %s is bound twice: connected under inputs at %s and set under with; keep one", e.name, who, c.at.pos)
			continue
		}
		bound[e.name] = e
		l.checkValue(who, &registry.Input{Name: decl.name, Type: decl.typ}, e.val, e.valAt)
	}
	for _, e := range rn.defaults {
		if decl := check(e); decl != nil {
			l.checkValue(who, &registry.Input{Name: decl.name, Type: decl.typ}, e.val, e.valAt)
			if bound[e.name] == nil {
				bound[e.name] = e
			}
		}
	}
	for _, decl := range sub.raw.inputs {
		if bound[decl.name] == nil && !decl.hasDefault {
			l.errs.Add(rn.pos, "input %q of subflow %s is not bound: connect it under inputs, set it under with, or give it a default under defaults", decl.name, who)
			continue
		}
		if src, ok := l.arg(sub, decl.name, referrer{input: decl.name}, place{pos: decl.pos}); ok && !src.conn {
			l.checkValue(who, &registry.Input{Name: decl.name, Type: decl.typ}, src.value, src.valAt)
		}
	}
	for _, o := range sub.raw.outputs {
		l.subOutput(sc, m, o.name, true, referrer{output: o.name}, o.valAt)
	}
	sub.after = l.afterBindings(sc, rn, who)
	sub.after = append(sub.after, sc.after...)
}

// afterBindings resolves the after: list of rn, written in scope sc.
func (l *loader) afterBindings(sc *scope, rn *rawNode, who memberName) []*Binding {
	var out []*Binding
	seen := map[*Node]bool{}
	add := func(n *Node, at Pos) {
		if seen[n] {
			return
		}
		seen[n] = true
		out = append(out, &Binding{
			Name: n.ID,
			Spec: &registry.Input{},
			Kind: Ordering,
			From: Ref{Node: n, Output: n.Spec.Outputs[0].Name},
			Pos:  at,
		})
	}
	for _, e := range rn.after {
		if e.ref == rn.id {
			l.errs.addAt(e.at, "%s lists itself under after: remove it", who)
			continue
		}
		m, ok := l.member(sc, e.ref)
		switch {
		case !ok:
			l.errs.addAt(e.at, "%s: after: no node %q%s", who, e.ref, didYouMean(e.ref, sc.ids))
		case m.broken:
		case m.node != nil:
			add(m.node, e.at.pos)
		default:
			for _, n := range l.exitNodes(sc, m) {
				add(n, e.at.pos)
			}
		}
	}
	return out
}

// exitNodes returns the nodes a dependency on a subflow waits for: the
// nodes its outputs come from or, if none, all its nodes.
func (l *loader) exitNodes(sc *scope, m member) []*Node {
	sub := m.sub
	var nodes []*Node
	for _, o := range sub.raw.outputs {
		src, ok := l.subOutput(sc, m, o.name, true, referrer{output: o.name}, o.valAt)
		if ok && src.conn && !slices.Contains(nodes, src.ref.Node) {
			nodes = append(nodes, src.ref.Node)
		}
	}
	if len(nodes) == 0 {
		nodes = l.flow.Nodes[sub.first:sub.end]
	}
	return nodes
}

// comparePlaces orders places by position, --set entries last.
func comparePlaces(a, b place) int {
	switch {
	case (a.set != "") != (b.set != ""):
		if a.set != "" {
			return 1
		}
		return -1
	case a.pos.Line != b.pos.Line:
		return a.pos.Line - b.pos.Line
	}
	return a.pos.Col - b.pos.Col
}

// showValue describes a constant for a message.
func showValue(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("the string %q", v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case bool:
		return fmt.Sprint(v)
	case nil:
		return "null"
	}
	return "the number " + jsonText(v)
}
