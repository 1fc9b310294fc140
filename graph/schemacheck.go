package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flowrun/flowrun/internal/jsonpointer"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

var nodeID = regexp.MustCompile(schema.NodeIDPattern)

// checkSchema validates root against the schema and adds one
// human-readable error per problem, at the most specific position.
//
// Checking the whole document at once would try every registered type on
// every node (the schema's if/then per type), so the file is checked with
// an empty nodes mapping, then each node against the node's shape and the
// definition of its own type: the same rules, in time linear in the
// number of nodes.
func checkSchema(fs *flowSchema, reg *registry.Registry, root *tree, errs *ErrorList) {
	checkSchemaMemo(fs, reg, root, errs, true)
}

// checkSchemaMemo is checkSchema, with the memo by shape or without.
func checkSchemaMemo(fs *flowSchema, reg *registry.Registry, root *tree, errs *ErrorList, memo bool) {
	sc := newSchemaCheck(fs, reg, root, errs, memo)
	nodes := root.get("nodes")
	if root.kind != mapKind || nodes == nil || nodes.kind != mapKind {
		sc.x.validate(fs.root, root.json(), nil)
		return
	}
	sc.shell()
	sc.nodes(nodes, 0)
}

// A schemaCheck checks a tree against the flow schema: the file without
// its nodes (shell), then its nodes, which a large file gives a chunk at
// a time (see chunks.go).
type schemaCheck struct {
	fs   *flowSchema
	x    *explainer
	memo bool
	// valid holds the shapes of the nodes found valid (see schemamemo.go).
	valid map[string]bool
	buf   bytes.Buffer
}

func newSchemaCheck(fs *flowSchema, reg *registry.Registry, root *tree, errs *ErrorList, memo bool) *schemaCheck {
	return &schemaCheck{fs: fs, x: &explainer{fs: fs, reg: reg, root: root, errs: errs}, memo: memo, valid: map[string]bool{}}
}

// shell checks the file with its nodes mapping left empty; the root must
// be a mapping whose nodes key holds a mapping.
func (sc *schemaCheck) shell() {
	root := sc.x.root
	shell := make(map[string]any, len(root.keys))
	for i, k := range root.keys {
		if k == "nodes" {
			shell[k] = map[string]any{}
			continue
		}
		shell[k] = root.kids[i].json()
	}
	sc.x.validate(sc.fs.root, shell, nil)
}

// nodes checks the entries of the nodes mapping from index from on.
func (sc *schemaCheck) nodes(nodes *tree, from int) {
	fs, x, errs := sc.fs, sc.x, sc.x.errs
	for i := from; i < len(nodes.keys); i++ {
		id := nodes.keys[i]
		if !nodeID.MatchString(id) {
			x.badName([]string{"nodes", id})
		}
		n := nodes.kids[i]
		key := shapeKey(&sc.buf, fs.shapes, n)
		if sc.memo && sc.valid[string(key)] {
			continue
		}
		before := len(*errs)
		v := n.json()
		prefix := []string{"nodes", id}
		x.validate(fs.shape, v, prefix)
		if typ, ok := n.get("type").value().(string); ok && fs.byType[typ] != nil {
			x.validate(fs.byType[typ], v, prefix)
		}
		if len(*errs) == before {
			sc.valid[string(key)] = true
		}
	}
}

// An explainer turns jsonschema's validation errors into flowrun's.
type explainer struct {
	fs   *flowSchema
	reg  *registry.Registry
	root *tree
	errs *ErrorList
	// prefix is the location of the value being validated.
	prefix []string
}

// validate validates v, the value at prefix, against s.
func (x *explainer) validate(s *jsonschema.Schema, v any, prefix []string) {
	err := s.Validate(v)
	if err == nil {
		return
	}
	x.prefix = prefix
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		x.errs.Add(x.root.pos, "%v", err)
		return
	}
	x.walk(ve)
}

func (x *explainer) walk(ve *jsonschema.ValidationError) {
	kw := jsonpointer.Last(jsonpointer.Split(fragment(ve.AbsoluteKeywordLocation)))
	if len(ve.Causes) == 0 || kw == "anyOf" {
		x.leaf(ve)
		return
	}
	for _, c := range ve.Causes {
		x.walk(c)
	}
}

func (x *explainer) leaf(ve *jsonschema.ValidationError) {
	inst := append(slices.Clip(x.prefix), jsonpointer.Split(ve.InstanceLocation)...)
	kwPath := jsonpointer.Split(fragment(ve.AbsoluteKeywordLocation))
	kw := jsonpointer.Last(kwPath)
	if slices.Contains(kwPath, "propertyNames") || slices.Contains(jsonpointer.Split(ve.KeywordLocation), "propertyNames") {
		x.badName(inst)
		return
	}
	t := x.find(inst)
	if t == nil {
		x.errs.Add(x.root.pos, "%s", ve.Message)
		return
	}
	at := placeOf(t)
	switch kw {
	case "additionalProperties":
		x.unknownKeys(inst, t, x.schemaAt(kwPath[:len(kwPath)-1]))
	case "type":
		x.wrongType(inst, t, x.schemaAt(kwPath))
	case "required":
		req, _ := x.schemaAt(kwPath).([]any)
		for _, r := range req {
			if name, ok := r.(string); ok && t.get(name) == nil {
				x.missing(inst, t, name)
			}
		}
	case "enum":
		vals, _ := x.schemaAt(kwPath).([]any)
		x.badEnum(inst, t, vals)
	case "const":
		if len(inst) == 1 && inst[0] == "version" {
			x.errs.addAt(at, "unsupported version %s: this flowrun reads version 1", jsonText(t.json()))
			return
		}
		x.errs.addAt(at, "invalid value %s: expected %s", jsonText(t.json()), jsonText(x.schemaAt(kwPath)))
	case "pattern":
		x.badPattern(inst, t)
	case "anyOf":
		x.badType(inst, t, ve)
	case "minimum":
		x.errs.addAt(at, "%s must be at least %s, got %s", jsonpointer.Last(inst), jsonText(x.schemaAt(kwPath)), jsonText(t.json()))
	default:
		x.errs.addAt(at, "%s", ve.Message)
	}
}

// find returns the value at the JSON pointer segments inst.
func (x *explainer) find(inst []string) *tree {
	t := x.root
	for _, seg := range inst {
		switch t.kind {
		case mapKind:
			t = t.get(seg)
		case seqKind:
			i := jsonpointer.Index(seg)
			if i < 0 || i >= len(t.kids) {
				return nil
			}
			t = t.kids[i]
		default:
			return nil
		}
		if t == nil {
			return nil
		}
	}
	return t
}

// keyPlace returns where the key of the value at inst was written.
func (x *explainer) keyPlace(inst []string) place {
	if len(inst) == 0 {
		return placeOf(x.root)
	}
	parent := x.find(inst[:len(inst)-1])
	key := inst[len(inst)-1]
	if parent == nil || parent.kind != mapKind {
		return placeOf(parent)
	}
	i, ok := parent.lookup(key)
	if !ok {
		return placeOf(parent)
	}
	if v := parent.kids[i]; v.set != "" {
		return place{set: v.set}
	}
	return place{pos: parent.keyPos[i]}
}

// schemaAt returns the part of the schema document at the pointer
// segments path.
func (x *explainer) schemaAt(path []string) any {
	v := x.fs.doc
	for _, seg := range path {
		switch m := v.(type) {
		case map[string]any:
			v = m[seg]
		case []any:
			i := jsonpointer.Index(seg)
			if i < 0 || i >= len(m) {
				return nil
			}
			v = m[i]
		default:
			return nil
		}
	}
	return v
}

// nodeType returns the type written for node id, if it is registered.
func (x *explainer) nodeSpec(id string) (string, *registry.Spec) {
	t := x.root.get("nodes").get(id).get("type")
	if t == nil {
		return "", nil
	}
	typ, _ := t.val.(string)
	spec, _ := x.reg.Lookup(typ)
	return typ, spec
}

// nodeField reports whether inst is [nodes id field ...] for one of fields.
func nodeField(inst []string, n int, fields ...string) bool {
	return len(inst) == n && inst[0] == "nodes" && slices.Contains(fields, inst[2])
}

func (x *explainer) unknownKeys(inst []string, t *tree, sch any) {
	if t.kind != mapKind {
		return
	}
	props, _ := sch.(map[string]any)["properties"].(map[string]any)
	allowed := make([]string, 0, len(props))
	for k := range props {
		allowed = append(allowed, k)
	}
	sort.Strings(allowed)
	for _, key := range t.keys {
		if _, ok := props[key]; ok {
			continue
		}
		at := x.keyPlace(append(slices.Clip(inst), key))
		hint := didYouMean(key, allowed)
		switch {
		case len(inst) == 0:
			x.errs.addAt(at, "unknown key %q%s: a flow file has the keys version, name, description, inputs, outputs and nodes", key, hint)
		case len(inst) == 2 && inst[0] == "nodes":
			x.errs.addAt(at, "unknown key %q in node %q%s: a node has type, description, inputs, with, defaults, after, on_error, retry, max_generations and placement", key, inst[1], hint)
		case nodeField(inst, 3, "inputs", "with", "defaults"):
			x.unknownInput(at, inst[1], key, allowed)
		case nodeField(inst, 3, "retry"):
			x.errs.addAt(at, "unknown key %q in retry%s: use attempts, delay and max_delay", key, hint)
		case len(inst) == 2 && inst[0] == "inputs":
			x.errs.addAt(at, "unknown key %q in flow input %q%s: use type, default and doc", key, inst[1], hint)
		default:
			x.errs.addAt(at, "unknown key %q%s", key, hint)
		}
	}
}

func (x *explainer) unknownInput(at place, id, key string, allowed []string) {
	typ, spec := x.nodeSpec(id)
	names := allowed
	if spec != nil {
		names = spec.InputNames()
	}
	if len(names) == 0 {
		x.errs.addAt(at, "node %q: type %q has no input %q: it has no inputs", id, typ, key)
		return
	}
	x.errs.addAt(at, "node %q: type %q has no input %q%s; its inputs are %s", id, typ, key, didYouMean(key, names), quoteList(names))
}

func (x *explainer) wrongType(inst []string, t *tree, want any) {
	at := placeOf(t)
	var names []string
	switch w := want.(type) {
	case string:
		names = []string{w}
	case []any:
		for _, n := range w {
			if s, ok := n.(string); ok && s != "null" {
				names = append(names, s)
			}
		}
	}
	expected := make([]string, len(names))
	for i, n := range names {
		expected[i] = typeName(n)
	}
	exp := strings.Join(expected, " or ")
	switch {
	case len(inst) == 0:
		x.errs.addAt(at, "a flow file must be a mapping with a nodes: key, got %s", show(t))
	case len(inst) == 2 && inst[0] == "nodes":
		x.errs.addAt(at, "node %q must be a mapping with at least a type, got %s", inst[1], show(t))
	case nodeField(inst, 4, "inputs"):
		x.errs.addAt(at, "input %q of node %q must be a reference such as \"node\" or \"node.output\", got %s: put constants under with", inst[3], inst[1], show(t))
	case nodeField(inst, 4, "with", "defaults"):
		typ, _ := x.nodeSpec(inst[1])
		x.errs.addAt(at, "input %q of node %q (%s) takes %s, got %s", inst[3], inst[1], typ, exp, show(t))
	case len(inst) == 2 && inst[0] == "outputs":
		x.errs.addAt(at, "output %q must be a reference such as \"node\" or \"node.output\", got %s", inst[1], show(t))
	case len(inst) == 3 && inst[0] == "nodes":
		x.errs.addAt(at, "%s of node %q must be %s, got %s", inst[2], inst[1], exp, show(t))
	default:
		x.errs.addAt(at, "expected %s, got %s", exp, show(t))
	}
}

// missing reports a missing key at the key of the mapping that lacks it,
// where an editor's language server shows it too.
func (x *explainer) missing(inst []string, t *tree, name string) {
	at := placeOf(t)
	if len(inst) > 0 {
		at = x.keyPlace(inst)
	}
	switch {
	case len(inst) == 2 && inst[0] == "nodes" && name == "type":
		x.errs.addAt(at, "node %q has no type: add type: with a registered type or the path of a subflow file", inst[1])
	case len(inst) == 0 && name == "nodes":
		x.errs.addAt(at, "missing key \"nodes\": a flow lists its nodes under nodes:")
	default:
		x.errs.addAt(at, "missing key %q", name)
	}
}

func (x *explainer) badEnum(inst []string, t *tree, vals []any) {
	at := placeOf(t)
	opts := make([]string, len(vals))
	var strs []string
	for i, v := range vals {
		opts[i] = jsonText(v)
		if s, ok := v.(string); ok {
			strs = append(strs, s)
		}
	}
	hint := ""
	if s, ok := t.val.(string); ok {
		hint = didYouMean(s, strs)
	}
	list := strings.Join(opts, ", ")
	got := jsonText(t.json())
	switch {
	case nodeField(inst, 3, "on_error"):
		x.errs.addAt(at, "invalid on_error %s%s: use %s", got, hint, strings.Join(opts, " or "))
	case nodeField(inst, 4, "with", "defaults"):
		typ, _ := x.nodeSpec(inst[1])
		x.errs.addAt(at, "invalid value %s for input %q of node %q (%s)%s: use one of %s", got, inst[3], inst[1], typ, hint, list)
	case len(inst) == 3 && inst[0] == "inputs" && inst[2] == "type":
		x.errs.addAt(at, "unknown input type %s%s: use one of %s", got, hint, list)
	default:
		x.errs.addAt(at, "invalid value %s%s: use one of %s", got, hint, list)
	}
}

func (x *explainer) badPattern(inst []string, t *tree) {
	at := placeOf(t)
	s, _ := t.val.(string)
	switch {
	case nodeField(inst, 4, "inputs"):
		if typ, spec := x.nodeSpec(inst[1]); spec != nil {
			if in, ok := spec.Input(inst[3]); ok && in.Const {
				x.errs.addAt(at, "input %q of node %q (%s) is a parameter and cannot be connected: set it under with", inst[3], inst[1], typ)
				return
			}
		}
		x.errs.addAt(at, "invalid reference %q: write \"node\", \"node.output\" or \"$input\" (an input of this subflow); put constants under with", s)
	case len(inst) == 2 && inst[0] == "outputs":
		x.errs.addAt(at, "invalid reference %q: write \"node\", \"node.output\" or \"$input\"", s)
	case nodeField(inst, 4, "after"):
		x.errs.addAt(at, "invalid node id %q in after: list the ids of nodes of this flow", s)
	case nodeField(inst, 4, "retry"):
		x.errs.addAt(at, "invalid duration %q: write it like \"100ms\", \"2s\" or \"1m30s\"", s)
	default:
		x.errs.addAt(at, "invalid value %q", s)
	}
}

// refusedMessage says that node id cannot use typ, which the registry
// refuses for reason.
func refusedMessage(id, typ, reason string) string {
	return fmt.Sprintf("node %q: type %q is refused: %s; remove the node, or run with a policy that allows it", id, typ, reason)
}

// badType reports a node type that is neither registered nor a subflow.
func (x *explainer) badType(inst []string, t *tree, ve *jsonschema.ValidationError) {
	s, ok := t.val.(string)
	if !ok {
		return // the "type" keyword reports it
	}
	if nodeField(inst, 3, "type") {
		if reason, ok := x.reg.Refused(s); ok {
			x.errs.addAt(placeOf(t), "%s", refusedMessage(inst[1], s, reason))
			return
		}
		x.errs.addAt(placeOf(t), "unknown node type %q%s: use a registered type (flowrun nodes lists them) or the path of a subflow file ending in .yaml", s, didYouMean(s, x.reg.Types()))
		return
	}
	x.errs.addAt(placeOf(t), "invalid value %q: %s", s, ve.Message)
}

func (x *explainer) badName(inst []string) {
	if len(inst) == 0 {
		return
	}
	at := x.keyPlace(inst)
	name := inst[len(inst)-1]
	parent := inst[:len(inst)-1]
	if len(parent) == 1 && parent[0] == "nodes" {
		x.errs.addAt(at, "invalid node id %q: use letters, digits, _ and -, starting with a letter or _ (no dots: \"node.output\" uses one)", name)
		return
	}
	x.errs.addAt(at, "invalid input name %q: use lower-case letters, digits and _, starting with a letter", name)
}

// show describes a value for a message: `the string "x"`, `the number 3`,
// `a mapping`.
func show(t *tree) string {
	switch t.kind {
	case mapKind:
		return "a mapping"
	case seqKind:
		return "a list"
	}
	switch v := t.val.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("%v", v)
	}
	return "the number " + jsonText(t.val)
}

func typeName(jsonType string) string {
	switch jsonType {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "integer":
		return "an integer"
	case "boolean":
		return "true or false"
	}
	return jsonType
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// fragment returns the fragment of a URL, "" if none.
func fragment(loc string) string {
	_, frag, _ := strings.Cut(loc, "#")
	return frag
}
