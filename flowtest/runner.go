package flowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
	flowschema "github.com/flowrun/flowrun/schema"
)

// Options configure a [Runner].
type Options struct {
	// Registry holds the node types of the flows under test; nil means
	// none.
	Registry *registry.Registry
	// Run, when not nil, selects the cases whose name it matches.
	Run *regexp.Regexp
	// Update rewrites the expected values of failed equality expectations
	// in the test files with what the flow produced; those expectations
	// then count as passed.
	Update bool
	// Getenv reads PATH, HOME and TMPDIR for the flows (a case's env:
	// sets the rest); nil means os.Getenv.
	Getenv func(string) string
	// Root confines the subflows a flow under test may read, as
	// `flowrun run --root` does; empty means graph.DefaultRoot of the flow.
	Root string
	// MaxFileSize bounds test, flow and subflow files (0:
	// graph.DefaultMaxFileSize).
	MaxFileSize int64
	// Policy refuses the node types whose effects it does not allow, as
	// `flowrun run --deny/--allow` do, except in the nodes a case mocks,
	// which have no effects: a case in which a node that is not mocked
	// has a refused type fails without running, naming the node. The
	// zero Policy allows everything.
	Policy registry.Policy
}

// A Runner runs test files. Create it with [New]; it is safe to use from
// one goroutine at a time.
type Runner struct {
	opts      Options
	schema    *jsonschema.Schema
	schemaDoc any
}

// New returns a Runner.
func New(opts Options) (*Runner, error) {
	if opts.Registry == nil {
		opts.Registry = registry.New()
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	doc := flowschema.CommittedTest()
	sch, err := flowschema.Compile(doc)
	if err != nil {
		return nil, fmt.Errorf("flowtest: the test schema does not compile: %w", err)
	}
	r := &Runner{opts: opts, schema: sch}
	if err := json.Unmarshal(doc, &r.schemaDoc); err != nil {
		return nil, err
	}
	return r, nil
}

// A FileResult is what running one test file found.
type FileResult struct {
	// File is the test file's path.
	File string
	// Errors lists the problems that make the test file, or a flow it
	// names, invalid; the cases did not run when the file is invalid.
	Errors graph.ErrorList
	// IOError is set when the file could not be read or rewritten.
	IOError error
	// Cases holds the result of every selected case, in file order.
	Cases []*CaseResult
	// Updated counts the expectations --update rewrote.
	Updated int
	// Sources holds the text of the files read for this test file (the
	// test file, its flows and their subflows), by path, for snippets.
	Sources map[string][]byte
}

// A CaseResult is the result of one case.
type CaseResult struct {
	// Name is the case's name and Pos the position of its name.
	Name string
	Pos  graph.Pos
	// Failures lists the expectations that did not hold; none means the
	// case passed.
	Failures []*Failure
	// Duration is how long the flow ran.
	Duration time.Duration
	// Stdout and Stderr are what the flow wrote.
	Stdout, Stderr string
}

// Passed reports whether every expectation held.
func (c *CaseResult) Passed() bool { return len(c.Failures) == 0 }

// A Failure is one expectation that did not hold.
type Failure struct {
	// Pos is the expectation's position in the test file.
	Pos graph.Pos
	// Case is the case's name.
	Case string
	// What names the expectation: "final a.out", "runs of a", "stdout".
	What string
	// Expected and Got describe both sides; Diff, when not empty, is a
	// unified diff of long values.
	Expected, Got string
	Diff          string
}

// Error returns `file:line:col: case "name": what: expected X, got Y`,
// followed by the diff, if any, indented.
func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: case %q: %s: expected %s, got %s", f.Pos, f.Case, f.What, f.Expected, f.Got)
	if f.Diff != "" {
		for _, line := range strings.Split(strings.TrimRight(f.Diff, "\n"), "\n") {
			b.WriteString("\n    " + line)
		}
	}
	return b.String()
}

// Summary returns a one-line message: `case "name": what: expected X, got Y`.
func (f *Failure) Summary() string {
	return fmt.Sprintf("case %q: %s: expected %s, got %s", f.Case, f.What, f.Expected, f.Got)
}

// Failed reports whether some case of the file failed.
func (fr *FileResult) Failed() bool {
	for _, c := range fr.Cases {
		if !c.Passed() {
			return true
		}
	}
	return false
}

// RunFile runs the selected cases of one test file. With Options.Update
// it then rewrites the expectations that failed.
func (r *Runner) RunFile(ctx context.Context, file string) *FileResult {
	fr := &FileResult{File: file, Sources: map[string][]byte{}}
	src, err := graph.ReadFile(file, r.opts.MaxFileSize)
	if err != nil {
		fr.IOError = err
		return fr
	}
	fr.Sources[file] = src
	s, errs := r.parseSuite(file, src)
	if len(errs) > 0 {
		fr.Errors = dedupe(errs)
		return fr
	}
	var edits []edit
	for _, tc := range s.cases {
		if r.opts.Run != nil && !r.opts.Run.MatchString(tc.name) {
			continue
		}
		cr, errs, ed := r.runCase(ctx, s, tc, fr.Sources)
		if len(errs) > 0 {
			fr.Errors = append(fr.Errors, errs...)
			continue
		}
		fr.Cases = append(fr.Cases, cr)
		edits = append(edits, ed...)
	}
	fr.Errors = dedupe(fr.Errors)
	if r.opts.Update && len(edits) > 0 && len(fr.Errors) == 0 {
		out, n, err := applyEdits(src, edits)
		if err == nil {
			err = os.WriteFile(file, out, 0o644)
		}
		if err != nil {
			fr.IOError = fmt.Errorf("updating %s: %w", file, err)
			return fr
		}
		fr.Updated = n
		// The rewritten expectations hold now: they are no failures.
		done := map[*Failure]bool{}
		for _, e := range edits {
			done[e.failure] = true
		}
		for _, c := range fr.Cases {
			c.Failures = slices.DeleteFunc(c.Failures, func(f *Failure) bool { return done[f] })
		}
	}
	return fr
}

func dedupe(errs graph.ErrorList) graph.ErrorList {
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

// pathEnv are the variables a flow under test inherits from the process:
// what finding programs and temporary files needs, nothing that changes
// the flow's behaviour (the case's env: sets that).
var pathEnv = []string{"PATH", "HOME", "TMPDIR"}

// Bounds on what one case keeps of a flow's output and event log.
const (
	maxOutput = 4 << 20
	maxEvents = 32 << 20
)

// refused returns a failure for each node of flow that tc does not mock
// and whose type the policy refuses.
func (r *Runner) refused(flow *graph.Flow, tc *testCase) []*Failure {
	if r.opts.Policy.IsZero() {
		return nil
	}
	var fs []*Failure
	for _, n := range flow.Nodes {
		if slices.ContainsFunc(tc.mocks, func(m *mock) bool { return m.id == n.ID }) {
			continue
		}
		if err := r.opts.Policy.Check(n.Spec); err != nil {
			fs = append(fs, &Failure{Pos: tc.pos, Case: tc.name, What: "effects",
				Expected: "only node types the policy (--deny, --allow) allows, or mocks",
				Got:      fmt.Sprintf("node %q (%s) at %s, whose type is refused: %v; mock it in the case, or allow the effect", n.ID, n.Type, n.Pos, err)})
		}
	}
	return fs
}

// runCase runs one case. It returns the case's result, or the problems
// that make the case invalid (its flow, or a name that is not in it), and
// the edits --update would make.
func (r *Runner) runCase(ctx context.Context, s *suite, tc *testCase, srcs map[string][]byte) (*CaseResult, graph.ErrorList, []edit) {
	cr := &CaseResult{Name: tc.name, Pos: tc.pos}
	flowFile := filepath.Join(filepath.Dir(s.doc.file), filepath.FromSlash(tc.flow))
	cannot := func(err error) graph.ErrorList {
		return graph.ErrorList{{Pos: tc.flowPos, Msg: fmt.Sprintf("case %q: cannot read the flow under test: %v", tc.name, err)}}
	}
	src, err := graph.ReadFile(flowFile, r.opts.MaxFileSize)
	if err != nil {
		return nil, cannot(err), nil
	}
	srcs[flowFile] = src
	root := r.opts.Root
	if root == "" {
		if root, err = graph.DefaultRoot(flowFile); err != nil {
			return nil, cannot(err), nil
		}
	}
	readWithin, err := graph.ReadFileWithinLimit(root, r.opts.MaxFileSize)
	if err != nil {
		return nil, cannot(err), nil
	}
	readSubflow := func(path string) ([]byte, error) {
		b, err := readWithin(path)
		if err == nil {
			srcs[path] = b
		}
		return b, err
	}
	getenv := func(k string) string {
		if v, ok := tc.env[k]; ok {
			return v
		}
		for _, p := range pathEnv {
			if k == p {
				return r.opts.Getenv(k)
			}
		}
		return ""
	}
	sets := make([]string, len(tc.sets))
	for i, se := range tc.sets {
		sets[i] = se.key + "=" + show(se.value)
	}
	flow, err := graph.Load(flowFile, src, r.opts.Registry, graph.Options{Getenv: getenv, Set: sets, ReadFile: readSubflow, MaxFileSize: r.opts.MaxFileSize})
	if err != nil {
		var list graph.ErrorList
		if !errors.As(err, &list) {
			list = graph.ErrorList{{Pos: graph.Pos{File: flowFile}, Msg: err.Error()}}
		}
		list = placeSets(tc, list)
		if slices.ContainsFunc(list, func(e *graph.Error) bool { return e.Pos.File != s.doc.file }) {
			list = append(list, &graph.Error{Pos: tc.flowPos, Msg: fmt.Sprintf("case %q: the flow %s is invalid", tc.name, flowFile)})
		}
		return nil, list, nil
	}
	if errs := checkRefs(flow, tc); len(errs) > 0 {
		return nil, errs, nil
	}
	if refused := r.refused(flow, tc); len(refused) > 0 {
		cr.Failures = refused
		return cr, nil, nil
	}
	for _, n := range flow.Nodes {
		for _, m := range tc.mocks {
			if m.id == n.ID {
				n.Spec = mockSpec(n.Spec, m)
			}
		}
	}
	stdout, stderr := &limitBuffer{max: maxOutput}, &limitBuffer{max: maxOutput}
	events := &limitBuffer{max: maxEvents}
	opts := engine.Options{
		Env: registry.Env{
			Stdin:  strings.NewReader(tc.stdin),
			Stdout: stdout,
			Stderr: stderr,
		},
		MaxGenerations: tc.maxGen,
		NodeLimits:     tc.limits,
		Events:         events,
	}
	runCtx, cancel := context.WithTimeout(ctx, tc.timeout)
	defer cancel()
	start := time.Now()
	res, runErr := engine.Run(runCtx, flow, opts)
	cr.Duration = time.Since(start)
	cr.Stdout, cr.Stderr = stdout.String(), stderr.String()
	timedOut := runCtx.Err() != nil && ctx.Err() == nil
	fail := func(pos graph.Pos, what string, mm *mismatch) {
		cr.Failures = append(cr.Failures, &Failure{Pos: pos, Case: tc.name, What: what, Expected: mm.expected, Got: mm.got, Diff: mm.diff})
	}
	if res == nil {
		// A constructor failed: nothing ran.
		fail(tc.pos, "run", &mismatch{expected: "the flow to start", got: "an error: " + runErr.Error()})
		return cr, nil, nil
	}
	if timedOut {
		fail(tc.pos, "run", &mismatch{expected: fmt.Sprintf("the flow to end within %v (timeout:)", tc.timeout), got: "it was still running; stopped it"})
	}
	log := parseEvents(events.Bytes())
	if events.truncated {
		log.err = fmt.Errorf("the event log is larger than %d MiB: the flow produced too much to check runs of values", maxEvents>>20)
	}
	if tc.noOutcome && res.Reason == engine.ReasonFailed {
		fail(tc.pos, "outcome", &mismatch{expected: "the flow not to fail (say outcome: failed to expect it)", got: "failed: " + errText(runErr)})
	}
	var edits []edit
	for _, e := range tc.expects {
		if e.kind == kindOutcome {
			if mm := checkOutcome(e.out, res, runErr, log); mm != nil {
				fail(e.out.pos, "outcome", mm)
			}
			continue
		}
		got, what, err := actual(e, flow, res, log, cr)
		if err != nil {
			fail(e.m.pos, what, &mismatch{expected: "a value", got: err.Error()})
			continue
		}
		if mm := e.m.check(got); mm != nil {
			fail(e.m.pos, what, mm)
			if e.m.op == "equals" && e.m.valNode != nil {
				edits = append(edits, edit{val: e.m.valNode, key: e.m.keyNode, inBlock: e.m.inBlock, value: norm(got),
					failure: cr.Failures[len(cr.Failures)-1]})
			}
		}
	}
	return cr, nil, edits
}

// placeSets points the loader's errors about --set entries at the case's
// set: keys they come from.
func placeSets(tc *testCase, list graph.ErrorList) graph.ErrorList {
	out := make(graph.ErrorList, 0, len(list))
	for _, e := range list {
		for i, se := range tc.sets {
			prefix := "--set " + strconv.Quote(se.key+"="+show(se.value)) + ": "
			if rest, ok := strings.CutPrefix(e.Msg, prefix); ok {
				e = &graph.Error{Pos: tc.sets[i].pos, Msg: fmt.Sprintf("case %q: set %s: %s", tc.name, se.key, rest)}
				break
			}
		}
		out = append(out, e)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// checkRefs checks that the nodes, inputs and outputs the case names are
// in the flow.
func checkRefs(flow *graph.Flow, tc *testCase) graph.ErrorList {
	var errs graph.ErrorList
	ids := make([]string, len(flow.Nodes))
	for i, n := range flow.Nodes {
		ids[i] = n.ID
	}
	node := func(pos graph.Pos, id, what string) *graph.Node {
		n := flow.Node(id)
		if n == nil {
			errs.Add(pos, "case %q: %s: no node %q in %s%s", tc.name, what, id, flow.File, didYouMean(id, ids))
		}
		return n
	}
	for _, m := range tc.mocks {
		n := node(m.pos, m.id, "mock")
		if n == nil {
			continue
		}
		runs := m.runs
		if m.every != nil {
			runs = append(runs, m.every)
		}
		names := n.Spec.OutputNames()
		for _, r := range runs {
			for _, o := range r.outputs {
				if !n.Spec.HasOutput(o.output) {
					errs.Add(o.pos, "case %q: mock %q: %s has no output %q%s; its outputs are %s", tc.name, m.id, n.Type, o.output, didYouMean(o.output, names), strings.Join(names, ", "))
				}
			}
			for _, c := range r.stream {
				if !n.Spec.HasOutput(c.output) {
					errs.Add(c.pos, "case %q: mock %q: %s has no output %q%s; its outputs are %s", tc.name, m.id, n.Type, c.output, didYouMean(c.output, names), strings.Join(names, ", "))
				}
			}
		}
	}
	for id := range tc.limits {
		node(tc.limPos[id], id, "max_generations")
	}
	for _, e := range tc.expects {
		switch e.kind {
		case kindOutcome:
			if e.out.node != "" {
				node(e.out.pos, e.out.node, "outcome")
			}
		case kindRuns:
			if strings.Contains(e.ref, ".") {
				errs.Add(e.refPos, "case %q: runs: write a node id, not %q", tc.name, e.ref)
				continue
			}
			node(e.refPos, e.ref, "runs")
		case kindFinal, kindProduced, kindChunks:
			id, out, _ := strings.Cut(e.ref, ".")
			n := node(e.refPos, id, e.kind)
			if n != nil && out != "" && outputIndex(n, out) < 0 {
				names := outputNames(n)
				errs.Add(e.refPos, "case %q: %s: node %q (%s) has no output %q%s; its outputs are %s", tc.name, e.kind, id, n.Type, out, didYouMean(out, names), strings.Join(names, ", "))
			}
		case kindReceived:
			id, in, ok := strings.Cut(e.ref, ".")
			n := node(e.refPos, id, e.kind)
			if n == nil {
				continue
			}
			var names []string
			for _, b := range n.Inputs {
				names = append(names, b.Name)
			}
			switch {
			case !ok:
				errs.Add(e.refPos, "case %q: received: name the input, \"%s.INPUT\"; its inputs are %s", tc.name, id, strings.Join(names, ", "))
			case n.Input(in) == nil:
				errs.Add(e.refPos, "case %q: received: node %q (%s) has no input %q%s; its inputs are %s", tc.name, id, n.Type, in, didYouMean(in, names), strings.Join(names, ", "))
			case n.Input(in).Spec.Stream:
				errs.Add(e.refPos, "case %q: received: %s is a stream input, whose chunks the event log does not record: check the producer's chunks instead", tc.name, e.ref)
			}
		}
	}
	return errs
}

func outputNames(n *graph.Node) []string {
	var names []string
	for _, o := range n.Outputs() {
		names = append(names, o.Name)
	}
	return names
}

func outputIndex(n *graph.Node, name string) int {
	for i, o := range n.Outputs() {
		if o.Name == name {
			return i
		}
	}
	return -1
}

// portOf splits "node.port"; a bare node means its first output.
func portOf(flow *graph.Flow, ref string) (id, port string) {
	id, port, ok := strings.Cut(ref, ".")
	if !ok {
		if n := flow.Node(id); n != nil {
			port = n.Outputs()[0].Name
		}
	}
	return id, port
}

// actual returns the value an expectation is about, and how to name it.
func actual(e *expectation, flow *graph.Flow, res *engine.Result, log *eventLog, cr *CaseResult) (any, string, error) {
	switch e.kind {
	case kindStdout:
		return cr.Stdout, "stdout", nil
	case kindStderr:
		return cr.Stderr, "stderr", nil
	case kindRuns:
		return res.Generations[e.ref], "runs of " + e.ref, nil
	case kindFinal:
		id, port := portOf(flow, e.ref)
		what := "final " + id + "." + port
		outs, ok := res.Final[id]
		if !ok {
			return nil, what, nil
		}
		return outs[port], what, nil
	}
	if log.err != nil {
		return nil, e.kind + " " + e.ref, log.err
	}
	switch e.kind {
	case kindReceived:
		id, in, _ := strings.Cut(e.ref, ".")
		return orEmpty(log.received[id+"."+in]), "received " + e.ref, nil
	case kindProduced:
		id, port := portOf(flow, e.ref)
		return orEmpty(log.produced[id+"."+port]), "produced " + id + "." + port, nil
	case kindChunks:
		id, port := portOf(flow, e.ref)
		return orEmpty(log.chunks[id+"."+port]), "chunks " + id + "." + port, nil
	}
	return nil, e.kind, fmt.Errorf("unknown expectation %q", e.kind)
}

func orEmpty(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

// checkOutcome compares how the flow ended with the expectation.
func checkOutcome(o *outcomeWant, res *engine.Result, runErr error, log *eventLog) *mismatch {
	got := describeEnd(res, runErr, log)
	if res.Reason != o.end {
		return &mismatch{expected: o.end, got: got}
	}
	if o.node != "" {
		ok := res.StoppedBy == o.node
		if o.end == engine.ReasonLimit {
			ok = false
			for _, n := range res.LimitNodes {
				ok = ok || n == o.node
			}
		}
		if !ok {
			return &mismatch{expected: o.end + " by node " + quote(o.node), got: got}
		}
	}
	if o.reason != nil {
		if mm := o.reason.check(stopReason(res, log)); mm != nil {
			mm.expected = "stopped with reason " + mm.expected
			mm.got = got
			return mm
		}
	}
	if o.errRe != nil && !errorMatches(o.errRe, runErr) {
		return &mismatch{expected: "failed with an error matching /" + o.errRe.String() + "/", got: got}
	}
	return nil
}

// errorMatches reports whether re matches the flow's error: the whole
// message (`file:line:col: node "id" (type) failed in run N: cause`) or
// the cause alone, so that ^ and $ can anchor either.
func errorMatches(re *regexp.Regexp, err error) bool {
	if err == nil {
		return false
	}
	if re.MatchString(err.Error()) {
		return true
	}
	var ne *engine.NodeError
	return errors.As(err, &ne) && ne.Err != nil && re.MatchString(ne.Err.Error())
}

// stopReason returns why the flow stopped: the reason of the node's
// registry.StopError (control.stop's reason, a mock's stop:), else the
// stop error the event log recorded, without its "flow stopped by node".
func stopReason(res *engine.Result, log *eventLog) string {
	if res.StopReason != "" {
		return res.StopReason
	}
	return strings.TrimSuffix(log.stops[res.StoppedBy], ": "+registry.ErrStop.Error())
}

func describeEnd(res *engine.Result, runErr error, log *eventLog) string {
	switch res.Reason {
	case engine.ReasonStopped:
		return fmt.Sprintf("stopped by node %q with reason %q", res.StoppedBy, stopReason(res, log))
	case engine.ReasonLimit:
		return "limit (reached by " + strings.Join(res.LimitNodes, ", ") + ")"
	case engine.ReasonFailed:
		return "failed: " + errText(runErr)
	}
	return res.Reason
}
