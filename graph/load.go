package graph

import (
	"path/filepath"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

// Options tune loading.
type Options struct {
	// Getenv reads the flow's environment: the loader resolves ${VAR} and
	// ${VAR:-fallback} in string constants with it, and the loaded
	// [Flow] keeps it in Flow.Getenv, which the engine hands to the nodes
	// (as registry.Env.Getenv), so this is the one place to set it. Nil
	// means the environment of this process ([registry.OSEnv]); pass
	// func(string) string { return "" } for an empty one. To keep the
	// values read from being shown, wrap it with secret.Set.Getenv.
	Getenv func(string) string
	// Set overrides constants: each entry is "node.input=value", the value
	// written in YAML syntax (a bare word is a string).
	Set []string
	// ReadFile reads subflow files; nil makes subflows an error. Use
	// [ReadFileWithin] to confine subflows to a project's directory.
	ReadFile func(path string) ([]byte, error)
	// MaxFileSize is the size limit of the flow file and of each subflow
	// file, in bytes (0: DefaultMaxFileSize). It also bounds the number
	// of YAML values a file may hold (one per 32 bytes of the limit).
	// Aliases may add at most 4 MiB of scalars and keys, or the file's
	// own size if larger.
	MaxFileSize int64
}

// Load parses and checks the flow in src, read from filename, whose node
// types are those of reg (nil: no types). On failure the error is an
// [ErrorList], sorted, one entry per problem.
//
// Loading has three phases, and stops after the first that finds errors,
// so that one mistake is not reported many times over: YAML syntax; the
// JSON Schema generated from reg (after applying Options.Set and
// interpolating ${VAR} in constants); and meaning: node types, inputs,
// outputs and references, subflows (expanded in place, read with
// Options.ReadFile), constants against their types, connections against
// the types of their ends, each type's Check, and cycles, each of which
// needs a node that can start it from defaults.
func Load(filename string, src []byte, reg *registry.Registry, opts Options) (*Flow, error) {
	return load(filename, src, reg, opts, true)
}

// load is Load; stream false keeps a large file from being built as it
// is parsed (see parseStream), for the tests that compare both ways.
func load(filename string, src []byte, reg *registry.Registry, opts Options, stream bool) (*Flow, error) {
	if reg == nil {
		reg = registry.New()
	}
	if opts.Getenv == nil {
		opts.Getenv = registry.OSEnv()
	}
	fs, err := schemaFor(reg)
	if err != nil {
		return nil, ErrorList{{Pos: Pos{File: filename}, Msg: "cannot build the flow schema from the registry: " + err.Error()}}
	}
	l := &loader{reg: reg, opts: opts, schema: fs, files: map[string]*parsedFile{}, stream: stream}
	raw, errs := l.parse(filename, src, opts.Set, true)
	if len(errs) > 0 {
		return nil, finish(errs)
	}
	var flow *Flow
	if l.top != nil {
		flow = l.end(l.top) // the nodes are built already (parseStream)
		l.top = nil         // let the scope go before the analysis
	} else {
		flow = l.expand(raw)
	}
	checkConnections(flow, &l.errs)
	// Cycles are analysed even when other meaning errors were found: the
	// analysis uses only the connections that resolved, so it adds no
	// cascade, and a cycle that cannot start is worth knowing at once.
	analyseCycles(flow, &l.errs)
	if len(l.errs) > 0 {
		return nil, finish(l.errs)
	}
	return flow, nil
}

// A loader holds the state of one Load call.
type loader struct {
	reg    *registry.Registry
	opts   Options
	schema *flowSchema
	errs   ErrorList
	// files caches subflow files by path, so that each is read, parsed
	// and reported on once.
	files map[string]*parsedFile
	flow  *Flow
	// specs caches the declarations looked up, so that the nodes of one
	// type share one copy.
	specs map[string]*registry.Spec
	// stream lets parseStream build the nodes of a large top-level file
	// as they are read; top is then the file's scope.
	stream bool
	top    *scope
}

// lookup returns the declaration of the named type, as reg.Lookup.
func (l *loader) lookup(typ string) (*registry.Spec, bool) {
	if s, ok := l.specs[typ]; ok {
		return s, true
	}
	s, ok := l.reg.Lookup(typ)
	if ok {
		if l.specs == nil {
			l.specs = map[string]*registry.Spec{}
		}
		l.specs[typ] = s
	}
	return s, ok
}

// A parsedFile is a subflow file after its syntax and schema phases.
type parsedFile struct {
	raw     *rawFlow
	readErr error
}

// parse runs the syntax and schema phases on one file and reads the
// result into a rawFlow. top says it is the top-level file, which may
// then be built as it is read (see parseStream).
func (l *loader) parse(file string, src []byte, sets []string, top bool) (*rawFlow, ErrorList) {
	if limit := l.opts.maxFileSize(); int64(len(src)) > limit {
		return nil, tooLarge(file, int64(len(src)), limit, false)
	}
	var root *tree
	var errs ErrorList
	switch {
	case len(src) < chunkFrom:
		root, errs = parseWhole(file, src, l.opts)
	case len(sets) == 0:
		if raw, serrs, ok := l.parseStream(file, src, top && l.stream); ok {
			return raw, serrs
		}
		root, errs = parseWhole(file, src, l.opts)
	default:
		root, errs = parseYAML(file, src, l.opts)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	applySets(root, sets, &errs)
	checkSchema(l.schema, l.reg, root, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	raw := readFlow(file, root, &errs)
	return raw, errs
}

// expand resolves the top-level file and its subflows into a Flow.
func (l *loader) expand(raw *rawFlow) *Flow {
	top := l.begin(raw, len(raw.nodes))
	for _, rn := range raw.nodes {
		l.buildMember(top, rn)
	}
	return l.end(top)
}

// begin starts the Flow of the top-level file raw, which has n nodes, and
// returns the file's scope, whose nodes buildMember then builds.
func (l *loader) begin(raw *rawFlow, n int) *scope {
	l.flow = &Flow{
		Name:        raw.name,
		Description: raw.description,
		File:        raw.file,
		Getenv:      l.opts.Getenv,
		byID:        make(map[string]*Node, n),
	}
	top := newScope(raw, 0, "", nil, nil, []string{filepath.Clean(raw.file)})
	l.buildStart(top, n)
	return top
}

// end binds the nodes of the top-level scope that are not bound yet (all,
// unless parseStream bound some as they were read) and the file's
// outputs.
func (l *loader) end(top *scope) *Flow {
	top.end = len(l.flow.Nodes)
	l.bindScope(top)
	for _, o := range top.raw.outputs {
		src, ok := l.resolve(top, o.ref, referrer{output: o.name}, o.valAt)
		if ok && src.conn {
			if l.flow.Outputs == nil {
				l.flow.Outputs = map[string]Ref{}
			}
			l.flow.Outputs[o.name] = src.ref
		}
	}
	return l.flow
}

// buildRead builds the members of the top-level scope sc for the raw
// nodes rns[from:], just read (see parseStream), and binds at once each
// node whose references all name members built before it that are not
// subflows: its binding then depends on nothing that follows, so it is
// the one bindScope would make. It returns rns with only the raw nodes
// left to bind, whose entries bindScope needs; the others are let go.
func (l *loader) buildRead(sc *scope, rns []*rawNode, from int) []*rawNode {
	keep := rns[:from]
	for _, rn := range rns[from:] {
		m := l.buildMember(sc, rn)
		if m.node == nil || !l.refsBuilt(sc, rn) {
			keep = append(keep, rn)
			continue
		}
		l.bindNode(sc, m)
	}
	clear(rns[len(keep):])
	return keep
}

// refsBuilt reports whether every node rn refers to, under inputs and
// after, is a member of sc that is not a subflow. A reference to an input
// of the file ("$name") depends on no member at the top level.
func (l *loader) refsBuilt(sc *scope, rn *rawNode) bool {
	for _, es := range [2][]*entry{rn.inputs, rn.after} {
		for _, e := range es {
			if strings.HasPrefix(e.ref, "$") && sc.parent == nil {
				continue
			}
			id, _, _ := strings.Cut(e.ref, ".")
			if m, ok := l.member(sc, id); !ok || m.sub != nil {
				return false
			}
		}
	}
	return true
}

// finish sorts errs and drops exact duplicates (a subflow file used twice
// reports its problems once).
func finish(errs ErrorList) ErrorList {
	errs.Sort()
	out := errs[:0]
	for i, e := range errs {
		if i > 0 && e.Pos == errs[i-1].Pos && e.Msg == errs[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

// parseStream is parse for a large file decoded in chunks (see
// chunks.go): each chunk of nodes is converted, checked against the
// schema and read before the next is decoded, so that the tree of the
// whole file never exists at once. The phases still stop at the first
// that finds errors: once one has, the chunks that follow are only
// converted (syntax errors) or converted and checked (schema errors).
// --set entries need the whole tree, so parse does not stream with them.
// ok is false when the file cannot be decoded in chunks.
//
// With build, the nodes of each chunk are also built (and most of them
// bound, see buildRead) as they are read, into l.top, so that the raw
// nodes of the whole file are not held at once either. The meaning
// errors this finds are in l.errs, reported only if the file has no
// error of an earlier phase, as after parse. When the file cannot be
// decoded in chunks after all, what was built is dropped.
func (l *loader) parseStream(file string, src []byte, build bool) (raw *rawFlow, errs ErrorList, ok bool) {
	var schemaErrs, readErrs ErrorList
	var sc *schemaCheck
	each := func(root, nodes *tree, total int, failed bool) {
		if failed {
			return
		}
		if sc == nil {
			sc = newSchemaCheck(l.schema, l.reg, root, &schemaErrs, true)
			sc.shell()
		}
		sc.nodes(nodes, 0)
		if len(schemaErrs) > 0 {
			return
		}
		if raw == nil {
			raw = readFlow(file, root, &readErrs)
			raw.nodes = make([]*rawNode, 0, total)
			if build && len(readErrs) == 0 {
				l.top = l.begin(raw, total)
			}
			return
		}
		first := len(raw.nodes)
		raw.readNodes(nodes, 0, &readErrs)
		if l.top != nil && len(readErrs) == 0 {
			raw.nodes = l.buildRead(l.top, raw.nodes, first)
		}
	}
	_, errs, ok = parseChunked(file, src, l.opts, each)
	if !ok && l.top != nil {
		l.top, l.flow, l.errs, l.files = nil, nil, nil, map[string]*parsedFile{}
	}
	switch {
	case !ok:
		return nil, nil, false
	case len(errs) > 0:
		return nil, errs, true
	case len(schemaErrs) > 0:
		return nil, schemaErrs, true
	}
	return raw, readErrs, true
}
