package flowtest

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flowrun/flowrun/graph"
)

// Limits that keep a hostile test file cheap to read.
const (
	maxFileSize = 4 << 20
	maxValues   = 200_000
	maxDepth    = 100
)

// A doc is a parsed test file: its YAML tree, which keeps every position,
// and the file's name and bytes.
type doc struct {
	file string
	src  []byte
	root *yaml.Node // the document's top node (not the DocumentNode)
	errs graph.ErrorList
}

func (d *doc) pos(n *yaml.Node) graph.Pos {
	if n == nil {
		return graph.Pos{File: d.file, Line: 1, Col: 1}
	}
	return graph.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *doc) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.Add(d.pos(n), format, args...)
}

// parseDoc parses src as one YAML document.
func parseDoc(file string, src []byte) *doc {
	d := &doc{file: file, src: src}
	if len(src) > maxFileSize {
		d.errs.Add(graph.Pos{File: file, Line: 1, Col: 1}, "the test file is larger than %d MiB: split it", maxFileSize>>20)
		return d
	}
	var top yaml.Node
	if err := yaml.Unmarshal(src, &top); err != nil {
		d.errs.Add(yamlErrorPos(file, err), "%s", yamlErrorMsg(err))
		return d
	}
	if len(top.Content) == 0 {
		d.errs.Add(graph.Pos{File: file, Line: 1, Col: 1}, "the test file is empty: it needs cases:")
		return d
	}
	d.root = top.Content[0]
	return d
}

// yamlErr matches yaml.v3's syntax errors: "yaml: line N: message".
var yamlErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlErrorPos(file string, err error) graph.Pos {
	if m := yamlErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return graph.Pos{File: file, Line: line}
	}
	return graph.Pos{File: file, Line: 1, Col: 1}
}

func yamlErrorMsg(err error) string {
	if m := yamlErr.FindStringSubmatch(err.Error()); m != nil {
		return "invalid YAML: " + m[2]
	}
	return "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
}

// A converter turns YAML nodes into JSON-shaped values (nil, bool, int,
// float64, string, []any, map[string]any), reporting what JSON cannot
// hold, with a budget against alias bombs.
type converter struct {
	d     *doc
	count int
	bad   bool
}

func (c *converter) value(n *yaml.Node) any {
	return c.convert(n, 0)
}

func (c *converter) convert(n *yaml.Node, depth int) any {
	c.count++
	if c.bad {
		return nil
	}
	if c.count > maxValues || depth > maxDepth {
		c.d.errorf(n, "the document has more than %d values or is nested more than %d deep once aliases are expanded", maxValues, maxDepth)
		c.bad = true
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		return c.convert(n.Alias, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.convert(n.Content[0], depth)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, k := range n.Content {
			s = append(s, c.convert(k, depth+1))
		}
		return s
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, kv := range pairs(n) {
			if kv.key.Kind != yaml.ScalarNode {
				c.d.errorf(kv.key, "a key must be a plain string")
				continue
			}
			if _, dup := m[kv.key.Value]; dup {
				c.d.errorf(kv.key, "duplicate key %q: remove one of them", kv.key.Value)
				continue
			}
			m[kv.key.Value] = c.convert(kv.val, depth+1)
		}
		return m
	}
	return c.scalar(n)
}

func (c *converter) scalar(n *yaml.Node) any {
	switch tag := n.ShortTag(); tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			c.d.errorf(n, "invalid boolean %q: write true or false", n.Value)
		}
		return b
	case "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			c.d.errorf(n, "invalid number %q", n.Value)
			return nil
		}
		switch v := v.(type) {
		case int:
			return v
		case int64:
			return float64(v)
		case uint64:
			return float64(v)
		case float64:
			if math.IsInf(v, 0) || math.IsNaN(v) {
				c.d.errorf(n, "%q is not a JSON number: write a finite number, or quote it to make it a string", n.Value)
				return nil
			}
			return v
		}
		return nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value
	default:
		c.d.errorf(n, "unsupported tag %q: test files hold plain JSON-like values", tag)
		return nil
	}
}

type pair struct{ key, val *yaml.Node }

// pairs returns the key-value pairs of a mapping, following merge keys
// only as far as to skip them (test files have no use for them).
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{n.Content[i], n.Content[i+1]})
	}
	return out
}

// resolve follows an alias.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// get returns the value of key in mapping n, and its key node.
func get(n *yaml.Node, key string) (val, k *yaml.Node) {
	for _, kv := range pairs(resolve(n)) {
		if kv.key.Value == key {
			return resolve(kv.val), kv.key
		}
	}
	return nil, nil
}

// at returns the node at the JSON pointer segments path below n.
func at(n *yaml.Node, path []string) (val, key *yaml.Node) {
	val = resolve(n)
	for _, seg := range path {
		switch {
		case val == nil:
			return nil, key
		case val.Kind == yaml.MappingNode:
			v, k := get(val, seg)
			if v == nil {
				return val, key
			}
			val, key = v, k
		case val.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(val.Content) {
				return val, key
			}
			val, key = resolve(val.Content[i]), nil
		default:
			return val, key
		}
	}
	return val, key
}
