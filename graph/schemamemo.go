package graph

import (
	"bytes"
	"math"
	"regexp"
	"strconv"

	"github.com/flowrun/flowrun/schema"
)

// Validating every node of a large flow against the JSON Schema cost
// about half of loading it (the validator allocates for every keyword it
// visits). Most nodes of a large flow have the same shape: the same type
// and keys, connections to other nodes, constants of the same JSON
// types. So the schema check is memoized by a node's shape: its value
// with every string that the schema checks only against the connection
// pattern replaced by one connection, and every scalar that the schema
// checks only by JSON type replaced by one value of that type. Two nodes
// of the same shape are valid or invalid together; a node whose shape
// is not known to be valid is validated as it is, so every error message
// is the one the full check gives.

var refPattern = regexp.MustCompile(schema.RefPattern)

// abstraction says how a value under a node's inputs, with or defaults
// may be abstracted in its shape.
type abstraction uint8

const (
	keepValue abstraction = iota // the schema looks at the value
	asRef                        // a string checked only against RefPattern
	asType                       // a scalar checked only by its JSON type
)

// typeShape is what the schema checks under each section of one type.
type typeShape struct {
	props map[string]map[string]abstraction // section -> property -> how
	extra map[string]abstraction            // section -> additionalProperties
}

// shapesFrom reads, from the generated schema document, the abstractions
// allowed for every type's sections.
func shapesFrom(doc any) map[string]*typeShape {
	defs, _ := mapAt(doc, "definitions").(map[string]any)
	out := map[string]*typeShape{}
	for name, def := range defs {
		typ, ok := cutPrefix(name, "type:")
		if !ok {
			continue
		}
		ts := &typeShape{props: map[string]map[string]abstraction{}, extra: map[string]abstraction{}}
		for _, sec := range []string{"inputs", "with", "defaults"} {
			then, _ := mapAt(def, "properties", sec, "then").(map[string]any)
			if then == nil {
				continue
			}
			props := map[string]abstraction{}
			if ps, ok := then["properties"].(map[string]any); ok {
				for p, s := range ps {
					props[p] = abstractionOf(s)
				}
			}
			ts.props[sec] = props
			if ap, ok := then["additionalProperties"].(map[string]any); ok {
				ts.extra[sec] = abstractionOf(ap)
			}
		}
		out[typ] = ts
	}
	return out
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

func mapAt(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// abstractionOf classifies a property schema: only annotations and a
// type (asType), or those plus the connection pattern on a string
// (asRef); anything else keeps the value.
func abstractionOf(s any) abstraction {
	m, ok := s.(map[string]any)
	if !ok {
		return keepValue
	}
	pattern := false
	for k, v := range m {
		switch k {
		case "description", "title", "type", "patternErrorMessage":
		case "pattern":
			if v != schema.RefPattern {
				return keepValue
			}
			pattern = true
		default:
			return keepValue
		}
	}
	if pattern {
		if m["type"] != "string" {
			return keepValue
		}
		return asRef
	}
	if _, ok := m["type"]; !ok {
		return keepValue
	}
	return asType
}

// shapeKey writes the shape of node n into buf (reset first) and returns
// it.
func shapeKey(buf *bytes.Buffer, shapes map[string]*typeShape, n *tree) []byte {
	buf.Reset()
	if n.kind != mapKind {
		writeValue(buf, n)
		return buf.Bytes()
	}
	typ, _ := n.get("type").value().(string)
	ts := shapes[typ]
	buf.WriteByte('{')
	for i, k := range n.keys {
		writeString(buf, k)
		buf.WriteByte(':')
		v := n.kids[i]
		props, ok := ts.section(k)
		if !ok || v.kind != mapKind {
			writeValue(buf, v)
			buf.WriteByte(',')
			continue
		}
		buf.WriteByte('{')
		for j, p := range v.keys {
			writeString(buf, p)
			buf.WriteByte(':')
			how, known := props[p]
			if !known {
				how = ts.extra[k]
			}
			writeAbstract(buf, v.kids[j], how)
			buf.WriteByte(',')
		}
		buf.WriteString("},")
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func (ts *typeShape) section(k string) (map[string]abstraction, bool) {
	if ts == nil {
		return nil, false
	}
	props, ok := ts.props[k]
	return props, ok
}

func writeAbstract(buf *bytes.Buffer, v *tree, how abstraction) {
	switch {
	case how == asRef:
		if s, ok := v.val.(string); ok && v.kind == scalarKind && refPattern.MatchString(s) {
			buf.WriteString(`"n"`)
			return
		}
	case how == asType && v.kind == scalarKind:
		switch x := v.val.(type) {
		case nil:
			buf.WriteString("null")
		case bool:
			buf.WriteString("false")
		case string:
			buf.WriteString(`""`)
		case int:
			buf.WriteString("0")
		case float64:
			if x == math.Trunc(x) {
				buf.WriteString("0.0")
			} else {
				buf.WriteString("0.5")
			}
		default:
			writeValue(buf, v)
		}
		return
	}
	writeValue(buf, v)
}

// writeString writes s as its length and its bytes: unambiguous, and
// cheaper than quoting it.
func writeString(buf *bytes.Buffer, s string) {
	var n [20]byte
	buf.Write(strconv.AppendInt(n[:0], int64(len(s)), 10))
	buf.WriteByte('"')
	buf.WriteString(s)
}

// writeValue writes v as it is (a canonical form, not necessarily JSON).
func writeValue(buf *bytes.Buffer, v *tree) {
	switch v.kind {
	case mapKind:
		buf.WriteByte('{')
		for i, k := range v.keys {
			writeString(buf, k)
			buf.WriteByte(':')
			writeValue(buf, v.kids[i])
			buf.WriteByte(',')
		}
		buf.WriteByte('}')
	case seqKind:
		buf.WriteByte('[')
		for _, k := range v.kids {
			writeValue(buf, k)
			buf.WriteByte(',')
		}
		buf.WriteByte(']')
	default:
		switch x := v.val.(type) {
		case nil:
			buf.WriteString("null")
		case bool:
			buf.WriteString(strconv.FormatBool(x))
		case string:
			writeString(buf, x)
		case int:
			buf.WriteString(strconv.Itoa(x))
		case float64:
			buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			buf.WriteByte('f')
		default:
			buf.WriteString("?")
		}
	}
}
