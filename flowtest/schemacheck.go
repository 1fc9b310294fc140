package flowtest

import (
	"errors"
	"fmt"
	"github.com/flowrun/flowrun/internal/jsonpointer"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/internal/suggest"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

// checkSchema validates the test file's value v against the test schema
// and reports each problem at the most specific position in the file.
func (r *Runner) checkSchema(d *doc, v any) {
	err := r.schema.Validate(v)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		d.errorf(d.root, "%v", err)
		return
	}
	for _, leaf := range leaves(ve) {
		r.explain(d, leaf)
	}
}

// leaves returns the most specific errors under ve. Of the branches of
// an anyOf or oneOf it keeps those that got deepest into the value, which
// are the ones the author meant; if none got further than the value
// itself, the anyOf error stands for them all.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	kw := jsonpointer.Last(jsonpointer.Split(ve.KeywordLocation))
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	if kw == "anyOf" || kw == "oneOf" {
		best, depth := []*jsonschema.ValidationError(nil), -1
		for _, c := range ve.Causes {
			ls := leaves(c)
			d := 0
			for _, l := range ls {
				d = max(d, len(jsonpointer.Split(l.InstanceLocation)))
			}
			switch {
			case d > depth:
				best, depth = ls, d
			case d == depth:
				best = append(best, ls...)
			}
		}
		if depth <= len(jsonpointer.Split(ve.InstanceLocation)) {
			return []*jsonschema.ValidationError{ve}
		}
		return best
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// explain reports one schema error in flowrun's words.
func (r *Runner) explain(d *doc, ve *jsonschema.ValidationError) {
	inst := jsonpointer.Split(ve.InstanceLocation)
	kw := jsonpointer.Last(jsonpointer.Split(ve.KeywordLocation))
	val, key := at(d.root, inst)
	where := describePath(inst)
	switch kw {
	case "additionalProperties":
		allowed := r.allowedKeys(ve)
		for _, kv := range pairs(val) {
			if len(allowed) > 0 && contains1(allowed, kv.key.Value) {
				continue
			}
			if len(allowed) == 0 && !strings.Contains(ve.Message, quote(kv.key.Value)) && !strings.Contains(ve.Message, "'"+kv.key.Value+"'") {
				continue
			}
			msg := fmt.Sprintf("unknown key %q%s%s", kv.key.Value, in(where), didYouMean(kv.key.Value, allowed))
			if len(allowed) > 0 {
				msg += ": use " + strings.Join(allowed, ", ")
			}
			d.errorf(kv.key, "%s", msg)
		}
		return
	case "required":
		msg := ve.Message
		if i := strings.Index(msg, "missing properties: "); i >= 0 {
			msg = "missing key " + strings.ReplaceAll(strings.TrimPrefix(msg[i:], "missing properties: "), "'", "\"")
		}
		d.errorf(val, "%s%s", msg, in(where))
		return
	case "propertyNames", "pattern":
		if !strings.Contains(ve.KeywordLocation, "propertyNames") && val != nil && val.Kind == yaml.ScalarNode {
			msg := fmt.Sprintf("invalid value %q%s", val.Value, in(where))
			if desc, ok := r.schemaAt(ve.AbsoluteKeywordLocation, "description").(string); ok {
				msg += ": " + desc
			}
			d.errorf(val, "%s", msg)
			return
		}
		if strings.Contains(ve.KeywordLocation, "propertyNames") {
			name := jsonpointer.Last(jsonpointer.Split(ve.InstanceLocation))
			// jsonschema reports the name's location as the mapping's.
			for _, kv := range pairs(val) {
				if strings.Contains(ve.Message, quote(kv.key.Value)) || strings.Contains(ve.Message, "'"+kv.key.Value+"'") {
					key, name = kv.key, kv.key.Value
				}
			}
			hint, _ := r.schemaAt(ve.AbsoluteKeywordLocation, "patternErrorMessage").(string)
			if hint == "" {
				hint = nameHint(where)
			}
			d.errorf(nodeOr(key, val), "invalid name %q%s: %s", name, in(where), hint)
			return
		}
		// The schema words what a pattern means for editors; say the same.
		if hint, ok := r.schemaAt(ve.AbsoluteKeywordLocation, "patternErrorMessage").(string); ok && val != nil {
			d.errorf(val, "invalid value %q%s: %s", val.Value, in(where), hint)
			return
		}
	}
	if kw == "anyOf" || kw == "oneOf" {
		desc := r.schemaAt(ve.AbsoluteKeywordLocation, "description")
		got := "this value"
		if val != nil {
			got = kindOf(val)
		}
		msg := fmt.Sprintf("unexpected %s%s", got, in(where))
		if s, ok := desc.(string); ok {
			msg += ": " + s
		}
		d.errorf(nodeOr(val, key), "%s", msg)
		return
	}
	d.errorf(nodeOr(val, key), "%s%s", ve.Message, in(where))
}

// kindOf describes a YAML value for a message.
func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("string %q", n.Value)
	case "!!null":
		return "null"
	}
	return "value " + n.Value
}

// schemaAt returns the key field of the schema that holds the keyword at
// the absolute keyword location loc.
func (r *Runner) schemaAt(loc, field string) any {
	_, frag, _ := strings.Cut(loc, "#")
	segs := jsonpointer.Split(frag)
	if len(segs) == 0 {
		return nil
	}
	var v any = r.schemaDoc
	for _, s := range segs[:len(segs)-1] {
		switch m := v.(type) {
		case map[string]any:
			v = m[s]
		case []any:
			i := jsonpointer.Index(s)
			if i < 0 || i >= len(m) {
				return nil
			}
			v = m[i]
		default:
			return nil
		}
	}
	m, _ := v.(map[string]any)
	return m[field]
}

func nodeOr(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

func nameHint(where string) string {
	switch {
	case strings.HasSuffix(where, "set"):
		return "write \"node.input\""
	case strings.HasSuffix(where, "env"):
		return "use letters, digits and _, not starting with a digit"
	case strings.Contains(where, "expect"):
		return "write \"node\" or \"node.output\" (\"node.input\" under received)"
	}
	return "use a node id, or an input or output name in lower case"
}

// allowedKeys returns the property names the schema at ve allows.
func (r *Runner) allowedKeys(ve *jsonschema.ValidationError) []string {
	props, _ := r.schemaAt(ve.AbsoluteKeywordLocation, "properties").(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func in(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}

// describePath names a place in a test file: "cases[0].mocks.reply".
func describePath(inst []string) string {
	var b strings.Builder
	for _, s := range inst {
		if idx := jsonpointer.Index(s); idx >= 0 {
			fmt.Fprintf(&b, "[%d]", idx)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// didYouMean is [suggest.DidYouMean], flowrun's one did-you-mean rule.
func didYouMean(name string, candidates []string) string {
	return suggest.DidYouMean(name, candidates)
}
