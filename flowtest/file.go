package flowtest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowrun/flowrun/graph"
)

// A suite is a parsed, schema-checked test file.
type suite struct {
	doc   *doc
	flow  string // default flow, relative to the test file
	cases []*testCase
}

// A testCase is one entry of cases:.
type testCase struct {
	name    string
	pos     graph.Pos // of the case's name
	flow    string
	flowPos graph.Pos
	sets    []setEntry
	env     map[string]string
	stdin   string
	maxGen  int
	limits  map[string]int
	limPos  map[string]graph.Pos
	timeout time.Duration
	mocks   []*mock
	expects []*expectation
	// noOutcome is true when the case does not say how the flow ends.
	noOutcome bool
}

type setEntry struct {
	key   string
	value any
	pos   graph.Pos
}

// A mock replaces one node.
type mock struct {
	id  string
	pos graph.Pos
	// runs[i] is what run i+1 does; every, when set, is what every run does.
	runs  []*mockRun
	every *mockRun
}

// A mockRun is the script of one run of a mocked node.
type mockRun struct {
	pos     graph.Pos
	stream  []chunk
	outputs []outputValue
	err     string
	stop    string
}

type chunk struct {
	output string
	value  any
	pos    graph.Pos
}

type outputValue struct {
	output string
	value  any
	pos    graph.Pos
}

// defaultTimeout is how long a case's flow may run when the case does not
// say.
const defaultTimeout = 10 * time.Second

// parseSuite parses and checks a test file: YAML, then the test schema,
// then the values the schema cannot check (regular expressions, schemas,
// durations, unique names). It returns nil and the errors when the file is
// invalid.
func (r *Runner) parseSuite(file string, src []byte) (*suite, graph.ErrorList) {
	d := parseDoc(file, src)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	c := &converter{d: d}
	v := c.value(d.root)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	r.checkSchema(d, v)
	if len(d.errs) > 0 {
		d.errs.Sort()
		return nil, d.errs
	}
	s := &suite{doc: d}
	if f, _ := get(d.root, "flow"); f != nil {
		s.flow = f.Value
	} else {
		base := filepath.Base(file)
		ext := filepath.Ext(base)
		s.flow = strings.TrimSuffix(strings.TrimSuffix(base, ext), "_test") + ext
	}
	cases, _ := get(d.root, "cases")
	seen := map[string]graph.Pos{}
	for _, cn := range cases.Content {
		tc := s.parseCase(c, resolve(cn))
		if first, dup := seen[tc.name]; dup {
			d.errs.Add(tc.pos, "duplicate case name %q (first at %s): rename one of them", tc.name, first)
		}
		seen[tc.name] = tc.pos
		s.cases = append(s.cases, tc)
	}
	if len(d.errs) > 0 {
		d.errs.Sort()
		return nil, d.errs
	}
	return s, nil
}

func (s *suite) parseCase(c *converter, n *yaml.Node) *testCase {
	d := s.doc
	name, _ := get(n, "name")
	tc := &testCase{name: name.Value, pos: d.pos(name), flow: s.flow, timeout: defaultTimeout, noOutcome: true}
	tc.flowPos = d.pos(name)
	if f, _ := get(n, "flow"); f != nil {
		tc.flow, tc.flowPos = f.Value, d.pos(f)
	}
	for _, kv := range pairs(mustGet(n, "set")) {
		tc.sets = append(tc.sets, setEntry{key: kv.key.Value, value: c.value(kv.val), pos: d.pos(kv.key)})
	}
	if env, _ := get(n, "env"); env != nil {
		tc.env = map[string]string{}
		for _, kv := range pairs(env) {
			tc.env[kv.key.Value] = resolve(kv.val).Value
		}
	}
	if in, _ := get(n, "stdin"); in != nil {
		tc.stdin = in.Value
	}
	if mg, _ := get(n, "max_generations"); mg != nil {
		switch v := c.value(mg).(type) {
		case int:
			tc.maxGen = v
		case map[string]any:
			tc.limits, tc.limPos = map[string]int{}, map[string]graph.Pos{}
			for _, kv := range pairs(mg) {
				tc.limits[kv.key.Value], _ = c.value(kv.val).(int)
				tc.limPos[kv.key.Value] = d.pos(kv.key)
			}
		}
	}
	if t, _ := get(n, "timeout"); t != nil {
		dur, err := time.ParseDuration(t.Value)
		if err != nil || dur <= 0 {
			d.errorf(t, "invalid timeout %q: write a positive duration such as \"5s\"", t.Value)
		}
		tc.timeout = dur
	}
	for _, kv := range pairs(mustGet(n, "mocks")) {
		tc.mocks = append(tc.mocks, s.parseMock(c, kv))
	}
	if e, _ := get(n, "expect"); e != nil {
		s.parseExpect(c, tc, e)
	}
	return tc
}

func mustGet(n *yaml.Node, key string) *yaml.Node {
	v, _ := get(n, key)
	return v
}

func (s *suite) parseMock(c *converter, kv pair) *mock {
	d := s.doc
	m := &mock{id: kv.key.Value, pos: d.pos(kv.key)}
	n := resolve(kv.val)
	outs, _ := get(n, "outputs")
	runs, runsKey := get(n, "runs")
	switch {
	case outs != nil && runs != nil:
		d.errorf(runsKey, "mock %q has both outputs and runs: use runs, with outputs in each run", m.id)
	case outs != nil && outs.Kind == yaml.SequenceNode:
		for _, o := range outs.Content {
			m.runs = append(m.runs, &mockRun{pos: d.pos(o), outputs: s.outputValues(c, resolve(o))})
		}
	case outs != nil:
		m.every = &mockRun{pos: d.pos(outs), outputs: s.outputValues(c, outs)}
	case runs != nil:
		for _, rn := range runs.Content {
			m.runs = append(m.runs, s.parseMockRun(c, resolve(rn)))
		}
	default:
		d.errorf(kv.key, "mock %q says nothing: give it outputs (every run, or a list, one per run) or runs", m.id)
	}
	return m
}

func (s *suite) outputValues(c *converter, n *yaml.Node) []outputValue {
	var out []outputValue
	for _, kv := range pairs(n) {
		out = append(out, outputValue{output: kv.key.Value, value: c.value(kv.val), pos: s.doc.pos(kv.key)})
	}
	return out
}

func (s *suite) parseMockRun(c *converter, n *yaml.Node) *mockRun {
	mr := &mockRun{pos: s.doc.pos(n)}
	if st, _ := get(n, "stream"); st != nil {
		for _, item := range st.Content {
			for _, kv := range pairs(resolve(item)) {
				mr.stream = append(mr.stream, chunk{output: kv.key.Value, value: c.value(kv.val), pos: s.doc.pos(kv.key)})
			}
		}
	}
	if o, _ := get(n, "outputs"); o != nil {
		mr.outputs = s.outputValues(c, o)
	}
	if e, _ := get(n, "error"); e != nil {
		mr.err = e.Value
	}
	if st, _ := get(n, "stop"); st != nil {
		mr.stop = st.Value
	}
	if mr.err != "" && mr.stop != "" {
		s.doc.errorf(n, "a mock run cannot both fail (error) and stop the flow (stop): keep one")
	}
	return mr
}

// validRegexp compiles a regular expression written at n, reporting a bad
// one.
func (s *suite) regexp(n *yaml.Node) *regexp.Regexp {
	re, err := regexp.Compile(n.Value)
	if err != nil {
		s.doc.errorf(n, "invalid regular expression %q: %v", n.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	return re
}

// quote returns s in double quotes.
func quote(s string) string { return fmt.Sprintf("%q", s) }
