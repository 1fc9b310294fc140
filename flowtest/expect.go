package flowtest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"

	"github.com/flowrun/flowrun/graph"
	flowschema "github.com/flowrun/flowrun/schema"
)

// The kinds of expectation, the keys under expect:.
const (
	kindOutcome  = "outcome"
	kindFinal    = "final"
	kindRuns     = "runs"
	kindReceived = "received"
	kindProduced = "produced"
	kindChunks   = "chunks"
	kindStdout   = "stdout"
	kindStderr   = "stderr"
)

// An expectation is one check of a case.
type expectation struct {
	kind string
	// ref is the node, "node.port" or "" (outcome, stdout, stderr) it is
	// about, as written; refPos where.
	ref    string
	refPos graph.Pos
	m      *matcher
	out    *outcomeWant
}

// A matcher checks one value. Equality matchers remember the YAML node of
// the expected value so that --update can rewrite it, and the key node
// that holds it.
type matcher struct {
	op      string // "equals", "contains", "regex", "schema", "approx"
	want    any
	re      *regexp.Regexp
	sch     *jsonschema.Schema
	tol     float64
	pos     graph.Pos
	valNode *yaml.Node
	keyNode *yaml.Node
	// inBlock is true when the mapping that holds the value is a block
	// mapping, so --update may write a multi-line value there.
	inBlock bool
	// deep is the expected value of op "deep": a list or mapping with
	// matchers among its elements.
	deep *deepValue
}

// A deepValue is an expected value with matchers inside: a matcher, a
// list or mapping of deepValues, or a literal.
type deepValue struct {
	m    *matcher
	list []*deepValue
	obj  map[string]*deepValue
	lit  any
	kind yaml.Kind
}

func hasNestedMatcher(n *yaml.Node) bool {
	for _, k := range n.Content {
		k = resolve(k)
		if isMatcher(k) || hasNestedMatcher(k) {
			return true
		}
	}
	return false
}

func (s *suite) parseDeep(c *converter, n *yaml.Node) *deepValue {
	n = resolve(n)
	switch {
	case isMatcher(n):
		return &deepValue{m: s.parseMatcher(c, n, nil, n)}
	case n.Kind == yaml.SequenceNode:
		d := &deepValue{kind: n.Kind, list: []*deepValue{}}
		for _, k := range n.Content {
			d.list = append(d.list, s.parseDeep(c, k))
		}
		return d
	case n.Kind == yaml.MappingNode:
		d := &deepValue{kind: n.Kind, obj: map[string]*deepValue{}}
		for _, kv := range pairs(n) {
			d.obj[kv.key.Value] = s.parseDeep(c, kv.val)
		}
		return d
	}
	return &deepValue{lit: norm(c.value(n))}
}

// matches reports whether got, a normalized value, is as d expects.
func (d *deepValue) matches(got any) bool {
	switch {
	case d.m != nil:
		return d.m.check(got) == nil
	case d.kind == yaml.SequenceNode:
		g, ok := got.([]any)
		if !ok || len(g) != len(d.list) {
			return false
		}
		for i, e := range d.list {
			if !e.matches(g[i]) {
				return false
			}
		}
		return true
	case d.kind == yaml.MappingNode:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(d.obj) {
			return false
		}
		for k, e := range d.obj {
			v, ok := g[k]
			if !ok || !e.matches(v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(d.lit, got)
}

type outcomeWant struct {
	end    string
	node   string
	reason *matcher
	errRe  *regexp.Regexp
	pos    graph.Pos
}

func (s *suite) parseExpect(c *converter, tc *testCase, e *yaml.Node) {
	d := s.doc
	for _, kv := range pairs(e) {
		kind, val := kv.key.Value, resolve(kv.val)
		switch kind {
		case kindOutcome:
			tc.noOutcome = false
			tc.expects = append(tc.expects, &expectation{kind: kind, refPos: d.pos(val), out: s.parseOutcome(c, val)})
		case kindStdout, kindStderr:
			tc.expects = append(tc.expects, &expectation{kind: kind, refPos: d.pos(kv.key), m: s.parseMatcher(c, e, kv.key, kv.val)})
		default:
			for _, ref := range pairs(val) {
				tc.expects = append(tc.expects, &expectation{kind: kind, ref: ref.key.Value, refPos: d.pos(ref.key),
					m: s.parseMatcher(c, val, ref.key, ref.val)})
			}
		}
	}
}

func (s *suite) parseOutcome(c *converter, n *yaml.Node) *outcomeWant {
	o := &outcomeWant{pos: s.doc.pos(n)}
	if n.Kind == yaml.ScalarNode {
		o.end = n.Value
		return o
	}
	end, _ := get(n, "end")
	o.end = end.Value
	if nn, _ := get(n, "node"); nn != nil {
		o.node = nn.Value
	}
	if r, k := get(n, "reason"); r != nil {
		if o.end != "stopped" {
			s.doc.errorf(k, "reason is for end: stopped (the reason the node gave): for a failure, match the error with error:")
		}
		o.reason = s.parseMatcher(c, n, k, r)
	}
	if e, k := get(n, "error"); e != nil {
		if o.end != "failed" {
			s.doc.errorf(k, "error is for end: failed: for a stop, match its reason with reason:")
		}
		o.errRe = s.regexp(e)
	}
	return o
}

// isMatcher reports whether a mapping is a matcher: every key is a
// matcher key.
func isMatcher(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return false
	}
	keys := flowschema.MatcherKeys()
	for _, kv := range pairs(n) {
		if !slices.Contains(keys, kv.key.Value) {
			return false
		}
	}
	return true
}

// parseMatcher parses the expectation n, the value of key in the mapping
// parent.
func (s *suite) parseMatcher(c *converter, parent, key, n *yaml.Node) *matcher {
	// The position is where the expectation is written, an alias (*name)
	// included; the value is what it stands for.
	m := &matcher{op: "equals", pos: s.doc.pos(n), keyNode: key, inBlock: parent.Style&yaml.FlowStyle == 0}
	n = resolve(n)
	if !isMatcher(n) {
		m.want, m.valNode = norm(c.value(n)), updatable(n)
		if hasNestedMatcher(n) {
			// A list or mapping with matchers in it: each element is
			// matched in place. --update leaves it alone.
			m.op, m.deep, m.valNode = "deep", s.parseDeep(c, n), nil
		}
		return m
	}
	tol, hasTol := get(n, "tolerance")
	for _, kv := range pairs(n) {
		v := resolve(kv.val)
		switch kv.key.Value {
		case "equals":
			m.op, m.want, m.valNode, m.keyNode = "equals", norm(c.value(v)), updatable(v), kv.key
			m.inBlock = n.Style&yaml.FlowStyle == 0
		case "contains":
			m.op, m.want = "contains", norm(c.value(v))
		case "regex":
			m.op, m.re = "regex", s.regexp(v)
		case "schema":
			m.op = "schema"
			doc, err := json.Marshal(c.value(v))
			if err == nil {
				m.sch, err = flowschema.Compile(doc)
			}
			if err != nil {
				msg := err.Error()
				if _, after, ok := strings.Cut(msg, "compilation failed: "); ok {
					msg = after
				}
				s.doc.errorf(v, "invalid JSON Schema: %s", strings.TrimPrefix(msg, "schema: "))
			}
		case "approx":
			m.op = "approx"
			m.want = c.value(v)
			m.tol = 1e-9
			if hasTol != nil {
				m.tol, _ = toFloat(c.value(tol))
			}
		}
	}
	return m
}

// updatable returns n if --update may rewrite its text: not when it is
// anchored (&name), since aliases (*name) elsewhere, in a mock say, read
// the same text.
func updatable(n *yaml.Node) *yaml.Node {
	if n.Anchor != "" {
		return nil
	}
	return n
}

// norm returns v as encoding/json would decode it, so that 2 and 2.0
// compare equal.
func norm(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// A mismatch says why a matcher failed: expected and got as text, and
// for long values a diff.
type mismatch struct {
	expected, got string
	diff          string
}

// check matches got; it returns nil when the value is as expected.
func (m *matcher) check(got any) *mismatch {
	got = norm(got)
	switch m.op {
	case "equals":
		if reflect.DeepEqual(m.want, got) {
			return nil
		}
		return differ(m.want, got)
	case "deep":
		if m.deep.matches(got) {
			return nil
		}
		return differ(m.want, got)
	case "contains":
		if contains(got, m.want) {
			return nil
		}
		return &mismatch{expected: "a value that contains " + show(m.want), got: show(got)}
	case "regex":
		s, ok := got.(string)
		if !ok {
			s = show(got)
		}
		if m.re != nil && m.re.MatchString(s) {
			return nil
		}
		return &mismatch{expected: "a match of /" + m.re.String() + "/", got: show(got)}
	case "schema":
		err := m.sch.Validate(got)
		if err == nil {
			return nil
		}
		return &mismatch{expected: "a value valid against the schema", got: show(got) + " (" + schemaMessage(err) + ")"}
	case "approx":
		want, _ := toFloat(m.want)
		g, ok := got.(float64)
		if ok && math.Abs(g-want) <= m.tol {
			return nil
		}
		return &mismatch{expected: fmt.Sprintf("%v ± %v", want, m.tol), got: show(got)}
	}
	return &mismatch{expected: "?", got: show(got)}
}

func schemaMessage(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	loc := ve.InstanceLocation
	if loc == "" {
		loc = "/"
	}
	return "at " + loc + ": " + ve.Message
}

func contains(got, want any) bool {
	switch g := got.(type) {
	case string:
		w, ok := want.(string)
		return ok && strings.Contains(g, w)
	case []any:
		return slices.ContainsFunc(g, func(e any) bool { return reflect.DeepEqual(e, want) })
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !reflect.DeepEqual(gv, wv) {
				return false
			}
		}
		return true
	}
	return false
}

// show returns v as compact JSON.
func show(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
