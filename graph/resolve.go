package graph

import (
	"slices"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

// A source is what a reference resolves to: an output of a node, or a
// constant (a subflow input bound to a constant, or its default).
type source struct {
	conn bool
	ref  Ref
	// refAt is where the reference to ref was written.
	refAt place
	value any
	valAt place
	// hasDef, def and defAt carry a default given to a subflow input, for
	// the inputs the subflow connects to it.
	hasDef bool
	def    any
	defAt  place
}

// A referrer names, in messages, what a reference is written for: an
// input of a node (`node "a": input "x"`), an input of a subflow
// (`input "x"`) or an output of a flow file (`output "out"`). Its text is
// built only for an error.
type referrer struct {
	node, input, output string
}

func (r referrer) String() string {
	switch {
	case r.output != "":
		return "output " + quote(r.output)
	case r.node != "":
		return "node " + quote(r.node) + ": input " + quote(r.input)
	}
	return "input " + quote(r.input)
}

// resolve resolves a reference written in scope sc: "node", "node.output"
// or "$input". what names the referrer in messages; at is where the
// reference was written.
func (l *loader) resolve(sc *scope, text string, what referrer, at place) (source, bool) {
	if name, ok := strings.CutPrefix(text, "$"); ok {
		return l.arg(sc, name, what, at)
	}
	id, out, hasOut := strings.Cut(text, ".")
	m, ok := l.member(sc, id)
	if !ok {
		l.errs.addAt(at, "%s: no node %q%s", what, id, didYouMean(id, sc.ids))
		return source{}, false
	}
	switch {
	case m.broken:
		return source{}, false
	case m.sub != nil:
		return l.subOutput(sc, m, out, hasOut, what, at)
	}
	outputs := m.node.Outputs()
	if !hasOut {
		out = outputs[0].Name
	}
	i := slices.IndexFunc(outputs, func(o registry.Output) bool { return o.Name == out })
	if i < 0 {
		names := make([]string, len(outputs))
		for j, o := range outputs {
			names[j] = o.Name
		}
		l.errs.addAt(at, "%s: %s has no output %q%s; its outputs are %s", what, m.describe(sc), out, didYouMean(out, names), quoteList(names))
		return source{}, false
	}
	return source{conn: true, ref: Ref{Node: m.node, Output: out, Index: i}, refAt: at}, true
}

// subOutput resolves an output of the subflow member m of sc.
func (l *loader) subOutput(sc *scope, m member, name string, hasName bool, what referrer, at place) (source, bool) {
	sub := m.sub
	outs := sub.raw.outputs
	if !hasName {
		if len(outs) == 0 {
			l.errs.addAt(at, "%s: subflow %s declares no outputs: add outputs: to %s", what, m.describe(sc), sub.raw.file)
			return source{}, false
		}
		name = outs[0].name
	}
	e := findEntry(outs, name)
	if e == nil {
		names := sub.raw.outputNames()
		l.errs.addAt(at, "%s: subflow %s has no output %q%s; its outputs are %s", what, m.describe(sc), name, didYouMean(name, names), quoteList(names))
		return source{}, false
	}
	st := sub.outs[name]
	if st == nil {
		st = &memo{}
		sub.outs[name] = st
	}
	switch st.state {
	case 2:
		return st.src, st.ok
	case 1:
		l.errs.addAt(e.valAt, "output %q of subflow %s leads back to itself through subflow inputs: connect it to a node", name, m.describe(sc))
		return source{}, false
	}
	st.state = 1
	st.src, st.ok = l.resolve(sub, e.ref, referrer{output: name}, e.valAt)
	st.state = 2
	return st.src, st.ok
}

// arg resolves "$name", an input of the flow file of scope sc: what the
// node using the subflow binds to it or, at the top level, its default.
func (l *loader) arg(sc *scope, name string, what referrer, at place) (source, bool) {
	decl := sc.raw.input(name)
	if decl == nil {
		l.errs.addAt(at, "%s: this flow has no input %q%s: declare it under the top-level inputs:", what, name, didYouMean(name, sc.raw.inputNames()))
		return source{}, false
	}
	st := sc.args[name]
	if st == nil {
		st = &memo{}
		sc.args[name] = st
	}
	switch st.state {
	case 2:
		return st.src, st.ok
	case 1:
		l.errs.Add(decl.pos, "input %q of this subflow is bound to an output of the same subflow node, which needs it: connect it to another node", name)
		return source{}, false
	}
	st.state = 1
	st.src, st.ok = l.bindArg(sc, decl)
	st.state = 2
	return st.src, st.ok
}

func (l *loader) bindArg(sc *scope, decl *rawInput) (source, bool) {
	if sc.parent == nil {
		if !decl.hasDefault {
			l.errs.Add(decl.pos, "input %q of this flow has no default: a file run as a flow, not as a subflow, needs a default for every input it uses", decl.name)
			return source{}, false
		}
		return source{value: decl.def, valAt: decl.defAt, hasDef: true, def: decl.def, defAt: decl.defAt}, true
	}
	p := sc.node
	var src source
	def := findEntry(p.defaults, decl.name)
	switch {
	case findEntry(p.inputs, decl.name) != nil:
		e := findEntry(p.inputs, decl.name)
		var ok bool
		src, ok = l.resolve(sc.parent, e.ref, referrer{node: sc.parent.prefix + p.id, input: decl.name}, e.valAt)
		if !ok {
			return source{}, false
		}
	case findEntry(p.with, decl.name) != nil:
		e := findEntry(p.with, decl.name)
		src = source{value: e.val, valAt: e.valAt}
	case def != nil:
		src = source{value: def.val, valAt: def.valAt}
	case decl.hasDefault:
		src = source{value: decl.def, valAt: decl.defAt}
	default:
		return source{}, false // bindSubflowNode reports it
	}
	switch {
	case def != nil:
		src.hasDef, src.def, src.defAt = true, def.val, def.valAt
	case !src.hasDef && decl.hasDefault:
		src.hasDef, src.def, src.defAt = true, decl.def, decl.defAt
	}
	// Values of the wrong type are reported on the node that uses the
	// subflow, or on the declaration; do not report them again inside.
	if (!src.conn && !decl.typ.Accepts(src.value)) || (src.hasDef && !decl.typ.Accepts(src.def)) {
		return source{}, false
	}
	return src, true
}
