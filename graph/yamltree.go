package graph

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// A tree is a flow file's YAML document converted to JSON-shaped values
// while keeping, for every value and mapping key, where it was written.
type tree struct {
	kind treeKind
	// val is the value of a scalar: nil, bool, int, float64 or string.
	val any
	// keys, keyPos and kids are a mapping's keys in file order, the
	// positions of the keys and the values; kids alone holds a sequence.
	keys   []string
	keyPos []Pos
	kids   []*tree
	// index maps keys to positions in large mappings only (nil for
	// small ones, which are searched: most mappings have a few keys).
	index map[string]int
	pos   Pos
	// set is the --set entry the value comes from, if any.
	set string
}

type treeKind uint8

const (
	scalarKind treeKind = iota
	mapKind
	seqKind
)

// get returns the value of key in a mapping, or nil.
func (t *tree) get(key string) *tree {
	if t == nil || t.kind != mapKind {
		return nil
	}
	if i, ok := t.lookup(key); ok {
		return t.kids[i]
	}
	return nil
}

// indexFrom is the number of keys from which a mapping has an index.
const indexFrom = 8

// lookup returns the position of key in a mapping.
func (t *tree) lookup(key string) (int, bool) {
	if t.index != nil {
		i, ok := t.index[key]
		return i, ok
	}
	for i, k := range t.keys {
		if k == key {
			return i, true
		}
	}
	return 0, false
}

// put adds or replaces key in a mapping.
func (t *tree) put(key string, pos Pos, v *tree) {
	if i, ok := t.lookup(key); ok {
		t.kids[i] = v
		return
	}
	if t.index != nil {
		t.index[key] = len(t.keys)
	} else if len(t.keys) == indexFrom {
		t.index = make(map[string]int, 2*indexFrom)
		for i, k := range t.keys {
			t.index[k] = i
		}
		t.index[key] = len(t.keys)
	}
	t.keys = append(t.keys, key)
	t.keyPos = append(t.keyPos, pos)
	t.kids = append(t.kids, v)
}

// json returns the value as plain JSON-shaped Go values.
func (t *tree) json() any {
	switch t.kind {
	case mapKind:
		m := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			m[k] = t.kids[i].json()
		}
		return m
	case seqKind:
		s := make([]any, len(t.kids))
		for i, k := range t.kids {
			s[i] = k.json()
		}
		return s
	}
	return t.val
}

// converter turns a yaml.Node tree into a tree, collecting errors.
type converter struct {
	file   string
	errs   *ErrorList
	getenv func(string) string
	count  int
	path   []string
	failed bool
	// lines is the number of lines of the file; yaml.v3 places the
	// implicit null of an empty document after the last one.
	lines int

	// Limits (see limits.go): values in all, and bytes added by aliases.
	maxValues  int
	aliasLimit int64
	fileLimit  int64
	// While an alias is expanded: how deep, the outermost alias and where
	// it is written; aliasBytes and aliasValues count what aliases added.
	aliasDepth  int
	aliasName   string
	aliasPos    Pos
	aliasBytes  int64
	aliasValues int
	// rootAnchored: the top-level mapping has an anchor.
	rootAnchored bool
	// lineOffset is added to yaml.v3's lines (a chunk of the file).
	lineOffset int
	// earlier holds the line and column of the node ids of the chunks
	// converted before, when they are let go (see parseChunked).
	earlier map[string][2]int32
}

// newConverter returns a converter for src, the contents of file, with
// the limits of opts.
func newConverter(file string, src []byte, opts Options, errs *ErrorList) *converter {
	return &converter{
		file: file, errs: errs, getenv: opts.Getenv, lines: lineCount(src),
		maxValues:  int(opts.maxFileSize() / bytesPerValue),
		aliasLimit: max(minAliasBytes, int64(len(src))),
		fileLimit:  opts.maxFileSize(),
	}
}

// fail reports a limit once; the rest of the document is skipped.
func (c *converter) fail(pos Pos, format string, args ...any) {
	c.errs.Add(pos, format, args...)
	c.failed = true
}

// addAliasBytes counts n bytes a scalar or key adds when it is reached
// through an alias.
func (c *converter) addAliasBytes(n int) {
	if c.aliasDepth == 0 || c.failed {
		return
	}
	c.aliasBytes += int64(n)
	if c.aliasBytes > c.aliasLimit {
		c.fail(c.aliasPos, "alias *%s repeats values until aliases have added more than %s to the document "+
			"(the limit is the larger of %s and the file's size): write the value once, in one node, and connect it, or use fewer aliases",
			c.aliasName, FormatSize(c.aliasLimit), FormatSize(minAliasBytes))
	}
}

func (c *converter) pos(n *yaml.Node) Pos {
	p := Pos{File: c.file, Line: n.Line + c.lineOffset, Col: n.Column}
	if c.lines > 0 && p.Line > c.lines {
		p.Line, p.Col = c.lines, 1
	}
	return p
}

// convert converts n; interp says whether strings are interpolated.
func (c *converter) convert(n *yaml.Node, interp bool, depth int) *tree {
	c.count++
	if c.aliasDepth > 0 {
		c.aliasValues++
	}
	if c.failed {
		return &tree{pos: c.pos(n)}
	}
	if c.count > c.maxValues {
		if c.aliasDepth > 0 {
			c.fail(c.aliasPos, "alias *%s repeats values until the document has more than %d values (mappings, lists and scalars; %d of them through aliases): write the values out, or use fewer aliases",
				c.aliasName, c.maxValues, c.aliasValues)
		} else {
			c.fail(c.pos(n), "the file has more than %d values (mappings, lists and scalars), the most a flow file may have under its %s size limit (one per %d bytes): split the flow into subflows, or raise the limit (--max-file-size)",
				c.maxValues, FormatSize(c.fileLimit), bytesPerValue)
		}
		return &tree{pos: c.pos(n)}
	}
	if depth > maxDepth {
		c.fail(c.pos(n), "values are nested more than %d levels deep", maxDepth)
		return &tree{pos: c.pos(n)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return &tree{pos: c.pos(n)}
		}
		if c.aliasDepth == 0 {
			c.aliasName, c.aliasPos = n.Value, c.pos(n)
		}
		c.aliasDepth++
		t := c.convert(n.Alias, interp, depth+1)
		c.aliasDepth--
		cp := *t
		cp.pos = c.pos(n)
		return &cp
	case yaml.MappingNode:
		return c.mapping(n, interp, depth)
	case yaml.SequenceNode:
		t := &tree{kind: seqKind, pos: c.pos(n)}
		for i, item := range n.Content {
			c.path = append(c.path, strconv.Itoa(i))
			t.kids = append(t.kids, c.convert(item, interp, depth+1))
			c.path = c.path[:len(c.path)-1]
		}
		return t
	case yaml.ScalarNode:
		return c.scalar(n, interp)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &tree{pos: c.pos(n)}
		}
		return c.convert(n.Content[0], interp, depth)
	}
	return &tree{pos: c.pos(n)}
}

func (c *converter) mapping(n *yaml.Node, interp bool, depth int) *tree {
	size := len(n.Content) / 2
	t := &tree{kind: mapKind, pos: c.pos(n),
		keys: make([]string, 0, size), keyPos: make([]Pos, 0, size), kids: make([]*tree, 0, size)}
	c.mappingInto(t, n, interp, depth)
	return t
}

// mappingInto adds the entries of the mapping n to t.
func (c *converter) mappingInto(t *tree, n *yaml.Node, interp bool, depth int) {
	var merges []*yaml.Node
	if len(c.path) == 0 && n.Anchor != "" {
		c.rootAnchored = true
	}
	// The entries of the nodes mapping are let go once converted, so that
	// a large flow does not hold both its whole yaml.Node tree and its
	// tree at once; not when an alias could come back to this mapping.
	release := len(c.path) == 1 && c.path[0] == "nodes" && n.Anchor == "" && !c.rootAnchored && c.aliasDepth == 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if release {
			n.Content[i], n.Content[i+1] = nil, nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.errs.Add(c.pos(k), "a key must be a plain string, not a %s", kindName(k))
			continue
		}
		key := k.Value
		c.addAliasBytes(len(key))
		if j, dup := t.lookup(key); dup {
			c.duplicate(key, c.pos(k), t.keyPos[j])
			continue
		}
		if at, dup := c.earlier[key]; dup && len(c.path) == 1 && c.path[0] == "nodes" {
			c.duplicate(key, c.pos(k), Pos{File: c.file, Line: int(at[0]), Col: int(at[1])})
			continue
		}
		c.path = append(c.path, key)
		sub := interp || interpolated(c.path)
		t.put(key, c.pos(k), c.convert(v, sub, depth+1))
		c.path = c.path[:len(c.path)-1]
	}
	// Merge keys ("<<: *anchor") add the keys the mapping does not set.
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			mt := c.convert(s, interp, depth+1)
			if mt.kind != mapKind {
				c.errs.Add(c.pos(s), "a merge key (<<) needs a mapping or a list of mappings")
				continue
			}
			for i, k := range mt.keys {
				if _, ok := t.lookup(k); !ok {
					t.put(k, mt.keyPos[i], mt.kids[i])
				}
			}
		}
	}
}

func (c *converter) duplicate(key string, at, first Pos) {
	if len(c.path) == 1 && c.path[0] == "nodes" {
		c.errs.Add(at, "duplicate node id %q (first defined at %s): rename one of them", key, first)
		return
	}
	c.errs.Add(at, "duplicate key %q (first at %s): remove one of them", key, first)
}

// interpolated reports whether strings at path are constants that read
// the environment: under a node's with or defaults, or a flow input's
// default.
func interpolated(path []string) bool {
	if len(path) < 3 {
		return false
	}
	switch {
	case path[0] == "nodes" && (path[2] == "with" || path[2] == "defaults"):
		return true
	case path[0] == "inputs" && path[2] == "default":
		return true
	}
	return false
}

func (c *converter) scalar(n *yaml.Node, interp bool) *tree {
	t := &tree{pos: c.pos(n)}
	c.addAliasBytes(len(n.Value))
	switch tag := n.ShortTag(); tag {
	case "!!null":
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			c.errs.Add(t.pos, "invalid boolean %q: write true or false", n.Value)
		}
		t.val = b
	case "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			c.errs.Add(t.pos, "invalid number %q", n.Value)
			break
		}
		f, ok := number(v)
		if !ok {
			c.errs.Add(t.pos, "%q is not a JSON number: write a finite number, or quote it to make it a string", n.Value)
			break
		}
		t.val = f
	case "!!str", "!!timestamp", "!!binary":
		t.val = n.Value
		if interp {
			s, err := interpolate(n.Value, c.getenv)
			if err != nil {
				c.errs.Add(t.pos, "%s", err.Error())
			}
			t.val = s
		}
	default:
		c.errs.Add(t.pos, "unsupported tag %q: flow files hold plain JSON-like values", tag)
	}
	return t
}

// number converts a decoded YAML number to int or float64.
func number(v any) (any, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		if v >= math.MinInt && v <= math.MaxInt {
			return int(v), true
		}
		return float64(v), true
	case uint64:
		if v <= math.MaxInt {
			return int(v), true
		}
		return float64(v), true
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		return v, true
	}
	return nil, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}
