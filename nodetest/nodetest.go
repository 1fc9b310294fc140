package nodetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// A Setup describes the node to build: what the flow file would say about
// it. The zero Setup builds a node with every parameter at its default.
type Setup struct {
	// ID is the node's id; "node" when empty.
	ID string
	// Params holds constants: the value of Const inputs (the others take
	// their defaults) and constants bound to ordinary inputs, which the
	// node then receives at every run unless [In].Values overrides them.
	Params map[string]any
	// Variadic names the variadic inputs the node has in the flow, in file
	// order. Names that appear in Params are added automatically.
	Variadic []string
	// Dir is the directory of the flow file.
	Dir string
	// Env is the node's environment.
	Env registry.Env
}

// Config returns the [registry.Config] the engine would give the node
// described by s: Params completed with the defaults of Const inputs, and
// Inputs listing the declared inputs then the variadic ones. It reports a
// name that the type does not have and a Const input without a value.
func Config(spec *registry.Spec, s Setup) (registry.Config, error) {
	cfg := registry.Config{ID: s.ID, Params: map[string]any{}, Dir: s.Dir}
	if cfg.ID == "" {
		cfg.ID = "node"
	}
	for _, in := range spec.Inputs {
		cfg.Inputs = append(cfg.Inputs, in.Name)
	}
	variadic := slices.Clone(s.Variadic)
	for _, name := range sortedKeys(s.Params) {
		if !slices.Contains(cfg.Inputs, name) && !slices.Contains(variadic, name) {
			variadic = append(variadic, name)
		}
	}
	for _, name := range variadic {
		if _, ok := spec.Input(name); !ok {
			return cfg, fmt.Errorf("nodetest: type %q has no input %q", spec.Type, name)
		}
		if slices.Contains(cfg.Inputs, name) {
			return cfg, fmt.Errorf("nodetest: input %q listed twice", name)
		}
		cfg.Inputs = append(cfg.Inputs, name)
	}
	for name, v := range s.Params {
		cfg.Params[name] = v
	}
	for _, name := range cfg.Inputs {
		in, _ := spec.Input(name)
		if !in.Const {
			continue
		}
		if _, ok := cfg.Params[name]; ok {
			continue
		}
		if !in.HasDefault {
			return cfg, fmt.Errorf("nodetest: parameter %q of type %q needs a value", name, spec.Type)
		}
		cfg.Params[name] = in.Default
	}
	return cfg, nil
}

// Build does what the loader and the engine do before a flow runs: it
// checks the parameters with Spec.Check, then creates the node with
// Spec.New. It returns the first error, unchanged, so that tests can
// inspect a [*registry.ParamError].
func Build(spec *registry.Spec, s Setup) (*Node, error) {
	cfg, err := Config(spec, s)
	if err != nil {
		return nil, err
	}
	if spec.Check != nil {
		if err := spec.Check(cfg); err != nil {
			return nil, err
		}
	}
	impl, err := spec.New(cfg, s.Env)
	if err != nil {
		return nil, err
	}
	if impl == nil {
		return nil, fmt.Errorf("nodetest: %s: New returned a nil node", spec.Type)
	}
	return &Node{Spec: spec, Config: cfg, Impl: impl, env: s.Env}, nil
}

// New is like [Build] but fails the test on error. A node that implements
// [registry.Closer] is closed when the test ends, as the engine closes it
// when a flow ends, and an error from its Close fails the test.
func New(t testing.TB, spec *registry.Spec, s Setup) *Node {
	t.Helper()
	n, err := Build(spec, s)
	if err != nil {
		t.Fatalf("build %s: %v", spec.Type, err)
	}
	t.Cleanup(func() {
		if c, ok := n.Impl.(registry.Closer); ok {
			if err := c.Close(context.Background()); err != nil {
				t.Errorf("close %s: %v", spec.Type, err)
			}
		}
	})
	return n
}

// A Node is a built node instance. Successive calls of [Node.Run] are
// successive runs (generations) of the same instance, so stateful types
// keep their state between them.
type Node struct {
	Spec   *registry.Spec
	Config registry.Config
	Impl   registry.Node
	gen    int
	env    registry.Env
}

// Generation returns the number of runs completed so far.
func (n *Node) Generation() int { return n.gen }

// Move does to the node what a worker does between two runs of a stateful
// type that declares SavesState when the flow runs on workers: it saves
// the state with MarshalState, closes the instance if it is a
// [registry.Closer], creates a new one with Spec.New and restores the
// state into it with UnmarshalState. The next [Node.Run] runs on the new
// instance and must give what the old one would have: a test that runs a
// sequence of inputs twice, once with Move between the runs, checks that
// the type saves all of its state. Move fails the test if the type does
// not declare SavesState, if its node is not a
// [registry.StateMarshaler], or on an error.
func (n *Node) Move(t testing.TB) {
	t.Helper()
	if !n.Spec.SavesState {
		t.Fatalf("nodetest: Move: type %s does not declare SavesState", n.Spec.Type)
	}
	old, ok := n.Impl.(registry.StateMarshaler)
	if !ok {
		t.Fatalf("nodetest: Move: type %s declares SavesState, but its node %T does not implement registry.StateMarshaler", n.Spec.Type, n.Impl)
	}
	data, err := old.MarshalState()
	if err != nil {
		t.Fatalf("nodetest: Move: %s: MarshalState: %v", n.Spec.Type, err)
	}
	if c, ok := n.Impl.(registry.Closer); ok {
		if err := c.Close(context.Background()); err != nil {
			t.Fatalf("nodetest: Move: close %s: %v", n.Spec.Type, err)
		}
	}
	impl, err := n.Spec.New(n.Config, n.env)
	if err != nil {
		t.Fatalf("nodetest: Move: %s: New: %v", n.Spec.Type, err)
	}
	fresh, ok := impl.(registry.StateMarshaler)
	if !ok {
		t.Fatalf("nodetest: Move: %s: New returned %T, which does not implement registry.StateMarshaler", n.Spec.Type, impl)
	}
	if err := fresh.UnmarshalState(data); err != nil {
		t.Fatalf("nodetest: Move: %s: UnmarshalState of %q: %v", n.Spec.Type, data, err)
	}
	n.Impl = impl
}

// In gives one run its inputs and says how the run's consumers behave.
type In struct {
	// Values holds value inputs; an input not listed takes its constant
	// from [Setup].Params, else its default.
	Values map[string]any
	// Streams holds stream inputs; an input not listed gets a one-chunk
	// stream of its value as above (none for null), as in a flow.
	Streams map[string]*Source
	// Defaulted lists inputs that Inputs.Defaulted reports as fed from
	// their default although they have a value (a cycle's first run).
	// Inputs not given a value and not constants are reported anyway.
	Defaulted []string
	// CancelAfter, when positive, cancels the run as a consumer would
	// once that many chunks were emitted (over all outputs): the run's
	// context is cancelled and further Emits fail with ErrCancelled.
	CancelAfter int
	// OnEmit, when not nil, is called for every chunk accepted by Emit,
	// on the goroutine that called Emit, before Emit returns.
	OnEmit func(output string, chunk any)
	// IdempotencyKey is what registry.IdempotencyKey returns for the run
	// (the engine gives "<flow run>/<node>/<generation>"); empty means
	// the inputs do not know it, as outside the engine.
	IdempotencyKey string
}

// A Result is what one run did.
type Result struct {
	// Err is the error Run returned.
	Err error
	// Set holds the values the run Set, by output.
	Set map[string]any
	// Chunks holds the chunks the run emitted, by output, in order.
	Chunks map[string][]any
	// Final holds the final value of every output: the value Set, else
	// the accumulation of the chunks (null when there are none).
	Final map[string]any
	// Cancelled tells which stream inputs the run cancelled.
	Cancelled map[string]bool
	// Read counts the chunks the run read from each stream input.
	Read map[string]int
	// RunCancelled is true when the run was cancelled by CancelAfter.
	RunCancelled bool

	first string
}

// Out returns the final value of the type's first output.
func (r *Result) Out() any { return r.Final[r.first] }

// Run performs one run of the node with t.Context() and returns what it
// did. It fails the test when the inputs miss a required input, and reports
// (with t.Errorf) a node that breaks the SDK contract: an unknown output,
// Emit from a type that does not stream, a value that is not JSON-shaped, or
// a modified input value.
func (n *Node) Run(t testing.TB, in In) *Result {
	t.Helper()
	return n.RunContext(t.Context(), t, in)
}

// RunContext is like [Node.Run] with the given context.
func (n *Node) RunContext(ctx context.Context, t testing.TB, in In) *Result {
	t.Helper()
	for name := range in.Values {
		if _, ok := n.Spec.Input(name); !ok || !slices.Contains(n.Config.Inputs, name) {
			t.Fatalf("nodetest: %s has no input %q (variadic inputs go in Setup.Variadic)", n.Spec.Type, name)
		}
	}
	for name := range in.Streams {
		if decl, ok := n.Spec.Input(name); !ok || !decl.Stream {
			t.Fatalf("nodetest: %s has no stream input %q", n.Spec.Type, name)
		}
	}
	for _, name := range n.Config.Inputs {
		decl, _ := n.Spec.Input(name)
		_, isValue := in.Values[name]
		_, isStream := in.Streams[name]
		_, isParam := n.Config.Params[name]
		if !decl.HasDefault && !isValue && !isStream && !isParam {
			t.Fatalf("nodetest: required input %q of %s has no value", name, n.Spec.Type)
		}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := &Result{
		Set:       map[string]any{},
		Chunks:    map[string][]any{},
		Final:     map[string]any{},
		Cancelled: map[string]bool{},
		Read:      map[string]int{},
	}
	ins := &inputs{node: n, in: in, res: res, streams: map[string]*stream{}}
	outs := &outputs{t: t, spec: n.Spec, in: in, res: res, cancel: cancel, runCtx: runCtx}
	before := map[string]any{}
	for name, v := range in.Values {
		before[name] = registry.CopyValue(v)
	}

	res.Err = n.Impl.Run(runCtx, ins, outs)
	n.gen++

	outs.mu.Lock()
	defer outs.mu.Unlock()
	outs.done = true
	for name, v := range before {
		if !reflect.DeepEqual(v, in.Values[name]) {
			t.Errorf("nodetest: %s modified its input %q: %#v became %#v", n.Spec.Type, name, v, in.Values[name])
		}
	}
	for name, s := range ins.streams {
		res.Cancelled[name] = s.cancelled
		res.Read[name] = s.read
	}
	res.Final = make(map[string]any, len(n.Spec.Outputs))
	for _, o := range n.Spec.Outputs {
		if v, ok := res.Set[o.Name]; ok {
			res.Final[o.Name] = v
			continue
		}
		var acc registry.Accumulator
		for _, c := range res.Chunks[o.Name] {
			acc.Add(c)
		}
		res.Final[o.Name] = acc.Value()
	}
	res.first = n.Spec.Outputs[0].Name
	return res
}

type inputs struct {
	node    *Node
	in      In
	res     *Result
	streams map[string]*stream
}

func (i *inputs) lookup(name string) (any, bool) {
	if v, ok := i.in.Values[name]; ok {
		return v, true
	}
	if v, ok := i.node.Config.Params[name]; ok {
		return v, true
	}
	return nil, false
}

func (i *inputs) Value(name string) any {
	decl, ok := i.node.Spec.Input(name)
	if !ok || decl.Stream {
		return nil
	}
	if v, ok := i.lookup(name); ok {
		return v
	}
	return decl.Default
}

func (i *inputs) Stream(name string) registry.Stream {
	if s, ok := i.streams[name]; ok {
		return s
	}
	s := &stream{}
	i.streams[name] = s
	decl, ok := i.node.Spec.Input(name)
	if !ok || !decl.Stream {
		return s
	}
	if src, ok := i.in.Streams[name]; ok {
		s.src = src
		return s
	}
	v, ok := i.lookup(name)
	if !ok {
		v = decl.Default
	}
	if v != nil {
		s.src = Chunks(v)
	}
	return s
}

func (i *inputs) Defaulted(name string) bool {
	if slices.Contains(i.in.Defaulted, name) {
		return true
	}
	if _, ok := i.in.Streams[name]; ok {
		return false
	}
	_, ok := i.lookup(name)
	return !ok
}

func (i *inputs) Generation() int { return i.node.gen }

// IdempotencyKey implements registry.Keyed.
func (i *inputs) IdempotencyKey() string { return i.in.IdempotencyKey }

// A Source feeds a stream input: a fixed list of chunks ([Chunks]) or a
// channel the test writes to while the node runs ([Chan]).
type Source struct {
	chunks []any
	ch     <-chan any
	err    error
}

// Chunks returns a source that yields the given chunks, then ends.
func Chunks(chunks ...any) *Source { return &Source{chunks: chunks} }

// Chan returns a source that yields what the test sends on ch and ends
// when ch is closed. A test can interleave its sends with what the node
// emits (see [In].OnEmit).
func Chan(ch <-chan any) *Source { return &Source{ch: ch} }

// Fail makes the stream end with err, as when the producer's run failed,
// instead of a clean end. It returns s.
func (s *Source) Fail(err error) *Source {
	s.err = err
	return s
}

// stream is one run's view of a Source.
type stream struct {
	src       *Source
	pos       int
	read      int
	ended     bool
	cancelled bool
}

func (s *stream) Next(ctx context.Context) (any, bool, error) {
	if s.cancelled || s.ended || s.src == nil {
		return nil, false, nil
	}
	// As the engine's streams: a chunk already there is returned even
	// when ctx is done; ctx ends only a wait.
	if s.src.ch == nil {
		if s.pos < len(s.src.chunks) {
			c := s.src.chunks[s.pos]
			s.pos++
			s.read++
			return c, true, nil
		}
		s.ended = true
		return nil, false, s.src.err
	}
	select {
	case c, ok := <-s.src.ch:
		return s.received(c, ok)
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	select {
	case c, ok := <-s.src.ch:
		return s.received(c, ok)
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// received is Next's result for a receive from a channel source.
func (s *stream) received(c any, ok bool) (any, bool, error) {
	if !ok {
		s.ended = true
		return nil, false, s.src.err
	}
	s.read++
	return c, true, nil
}

func (s *stream) Cancel() { s.cancelled = true }

func (s *stream) All(ctx context.Context) iter.Seq2[any, error] { return registry.StreamAll(ctx, s) }

type outputs struct {
	t      testing.TB
	spec   *registry.Spec
	in     In
	res    *Result
	cancel context.CancelCauseFunc
	runCtx context.Context

	mu      sync.Mutex
	emitted int
	done    bool
}

// checkType fails the test when v is not of the declared type of the
// output name (see registry.Output.Type).
func (o *outputs) checkType(op, name string, v any) {
	i := o.spec.OutputIndex(name)
	if i < 0 {
		return
	}
	if typ := o.spec.Outputs[i].Type; !typ.Accepts(v) {
		o.t.Errorf("nodetest: %s: %s(%q): output %q is declared %s, got %T %v", o.spec.Type, op, name, name, typ, v, v)
	}
}

// errConsumerCancelled is the cause of a run cancelled by In.CancelAfter.
var errConsumerCancelled = errors.New("nodetest: consumer cancelled the stream")

func (o *outputs) Set(name string, v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		o.t.Errorf("nodetest: %s: Set(%q) after Run returned", o.spec.Type, name)
		return
	}
	if !o.spec.HasOutput(name) {
		o.t.Errorf("nodetest: %s: Set on unknown output %q", o.spec.Type, name)
		return
	}
	if err := checkJSON(v); err != nil {
		o.t.Errorf("nodetest: %s: Set(%q): %v", o.spec.Type, name, err)
	}
	o.checkType("Set", name, v)
	o.res.Set[name] = v
}

func (o *outputs) Emit(ctx context.Context, name string, chunk any) error {
	o.mu.Lock()
	if o.done {
		o.mu.Unlock()
		o.t.Errorf("nodetest: %s: Emit(%q) after Run returned", o.spec.Type, name)
		return fmt.Errorf("emit after the run ended: %w", registry.ErrCancelled)
	}
	if !o.spec.Streams {
		o.t.Errorf("nodetest: %s: Emit from a type that does not declare Streams", o.spec.Type)
	}
	if !o.spec.HasOutput(name) {
		o.mu.Unlock()
		o.t.Errorf("nodetest: %s: Emit on unknown output %q", o.spec.Type, name)
		return fmt.Errorf("no output %q", name)
	}
	if err := checkJSON(chunk); err != nil {
		o.t.Errorf("nodetest: %s: Emit(%q): %v", o.spec.Type, name, err)
	}
	o.checkType("Emit", name, chunk)
	if o.runCtx.Err() != nil || ctx.Err() != nil {
		o.mu.Unlock()
		return fmt.Errorf("emit: %w", registry.ErrCancelled)
	}
	o.res.Chunks[name] = append(o.res.Chunks[name], chunk)
	o.emitted++
	if o.in.CancelAfter > 0 && o.emitted >= o.in.CancelAfter {
		o.res.RunCancelled = true
		o.cancel(errConsumerCancelled)
	}
	o.mu.Unlock()
	if o.in.OnEmit != nil {
		o.in.OnEmit(name, chunk)
	}
	return nil
}

// checkJSON reports a value that is not JSON-shaped.
func checkJSON(v any) error {
	switch v := v.(type) {
	case nil, bool, int, float64, string:
		return nil
	case []any:
		for i, e := range v {
			if err := checkJSON(e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	case map[string]any:
		for k, e := range v {
			if err := checkJSON(e); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
		}
		return nil
	}
	return fmt.Errorf("value %#v of Go type %T is not JSON-shaped", v, v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
