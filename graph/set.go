package graph

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// applySets applies Options.Set to the top-level file's tree: each entry
// "node.input=value" sets the constant of input under the node's with,
// the value parsed as YAML. Bad entries are errors naming the entry.
func applySets(root *tree, sets []string, errs *ErrorList) {
	for _, entry := range sets {
		applySet(root, entry, errs)
	}
}

func applySet(root *tree, entry string, errs *ErrorList) {
	bad := func(format string, args ...any) {
		errs.addAt(place{set: entry}, format, args...)
	}
	target, value, ok := strings.Cut(entry, "=")
	if !ok {
		bad("expected node.input=value")
		return
	}
	id, input, ok := cutLast(strings.TrimSpace(target), ".")
	if !ok || id == "" || input == "" {
		bad("expected node.input=value, with the node id and the input name separated by a dot")
		return
	}
	v, ok := parseSetValue(value, entry, errs)
	if !ok {
		return
	}
	nodes := root.get("nodes")
	if nodes == nil || nodes.kind != mapKind {
		bad("the flow has no nodes")
		return
	}
	node := nodes.get(id)
	if node == nil {
		bad("no node %q in the flow%s", id, didYouMean(id, nodes.keys))
		return
	}
	if node.kind != mapKind {
		return // the schema reports the node itself
	}
	// Aliases share subtrees: copy what is modified.
	node = node.clone()
	nodes.put(id, Pos{}, node)
	if conns := node.get("inputs"); conns != nil && conns.get(input) != nil {
		bad("input %q of node %q is connected under inputs at %s: --set only sets constants", input, id, conns.keyPos[conns.mustLookup(input)])
		return
	}
	with := node.get("with")
	if with == nil || with.kind != mapKind {
		if with != nil && with.set == "" {
			return // the schema reports the malformed with
		}
		with = &tree{kind: mapKind, set: entry}
	} else {
		with = with.clone()
	}
	node.put("with", Pos{}, with)
	with.put(input, Pos{}, v)
}

// parseSetValue parses the value of a --set entry as a YAML scalar or
// flow value; an empty value is the empty string.
func parseSetValue(value, entry string, errs *ErrorList) (*tree, bool) {
	if strings.TrimSpace(value) == "" {
		return &tree{val: value, set: entry}, true
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		errs.addAt(place{set: entry}, "invalid value: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, false
	}
	var verrs ErrorList
	c := newConverter("", []byte(value), Options{}, &verrs)
	t := c.convert(&doc, false, 0)
	if len(verrs) > 0 {
		errs.addAt(place{set: entry}, "invalid value: %s", verrs[0].Msg)
		return nil, false
	}
	markSet(t, entry)
	return t, true
}

func markSet(t *tree, entry string) {
	t.set = entry
	for _, k := range t.kids {
		markSet(k, entry)
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// clone returns a shallow copy of a mapping.
func (t *tree) clone() *tree {
	c := *t
	c.keys = append([]string(nil), t.keys...)
	c.keyPos = append([]Pos(nil), t.keyPos...)
	c.kids = append([]*tree(nil), t.kids...)
	if t.index != nil {
		c.index = make(map[string]int, len(t.index))
		for k, v := range t.index {
			c.index[k] = v
		}
	}
	return &c
}

// mustLookup returns the position of a key known to be in the mapping.
func (t *tree) mustLookup(key string) int {
	i, _ := t.lookup(key)
	return i
}
