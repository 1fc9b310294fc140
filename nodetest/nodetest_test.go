package nodetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// passNode forwards the chunks of stream input s, doubled when the
// parameter double is true, and counts its runs on output runs.
type passNode struct {
	double bool
	runs   int
}

func (n *passNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	n.runs++
	out.Set("runs", n.runs)
	s := in.Stream("s")
	for {
		c, ok, err := s.Next(ctx)
		if err != nil || !ok {
			return err
		}
		if n.double {
			c = c.(int) * 2
		}
		if err := out.Emit(ctx, "out", c); err != nil {
			s.Cancel()
			return err
		}
	}
}

var passSpec = registry.Spec{
	Type:    "test.pass",
	Doc:     "Pass forwards chunks.",
	Streams: true,
	Inputs: []registry.Input{
		{Name: "s", Stream: true, Doc: "The chunks."},
		{Name: "double", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Double each chunk."},
	},
	Outputs: []registry.Output{{Name: "out", Doc: "The chunks."}, {Name: "runs", Doc: "Runs so far."}},
	Example: "p:\n  type: test.pass\n  inputs: {s: src}\n",
	New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
		return &passNode{double: cfg.Params["double"].(bool)}, nil
	},
}

func TestRunStreamAccumulates(t *testing.T) {
	n := New(t, &passSpec, Setup{Params: map[string]any{"double": true}})
	res := n.Run(t, In{Streams: map[string]*Source{"s": Chunks(1, 2, 3)}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := res.Chunks["out"], []any{2, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("chunks = %v, want %v", got, want)
	}
	if got := res.Out(); got != 12 {
		t.Errorf("final = %v, want 12 (accumulation)", got)
	}
	if got := res.Final["runs"]; got != 1 {
		t.Errorf("runs = %v, want 1", got)
	}
	res = n.Run(t, In{Streams: map[string]*Source{"s": Chunks()}})
	if got := res.Final["runs"]; got != 2 {
		t.Errorf("second run: runs = %v, want 2 (state kept)", got)
	}
	if got := res.Out(); got != nil {
		t.Errorf("second run with an empty stream: final = %v, want null", got)
	}
	if n.Generation() != 2 {
		t.Errorf("Generation() = %d, want 2", n.Generation())
	}
}

func TestRunCancelAfter(t *testing.T) {
	n := New(t, &passSpec, Setup{})
	res := n.Run(t, In{Streams: map[string]*Source{"s": Chunks(1, 2, 3, 4)}, CancelAfter: 2})
	// The run's context is cancelled after the second chunk: the third
	// chunk, already there, is read (as the engine's streams do), and its
	// emit fails.
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("err = %v, want ErrCancelled", res.Err)
	}
	if !res.RunCancelled {
		t.Error("RunCancelled = false, want true")
	}
	if got := res.Read["s"]; got != 3 {
		t.Errorf("read %d chunks, want 3", got)
	}
	if got := res.Out(); got != 3 {
		t.Errorf("final = %v, want 3", got)
	}
}

func TestRunChanInterleaves(t *testing.T) {
	n := New(t, &passSpec, Setup{})
	ch := make(chan any)
	got := make(chan any, 1)
	done := make(chan *Result)
	go func() {
		done <- n.Run(t, In{
			Streams: map[string]*Source{"s": Chan(ch)},
			OnEmit:  func(_ string, c any) { got <- c },
		})
	}()
	for i := range 3 {
		ch <- i
		if c := <-got; c != i {
			t.Errorf("emitted %v, want %v", c, i)
		}
	}
	close(ch)
	if res := <-done; res.Err != nil || res.Out() != 3 {
		t.Errorf("err = %v, final = %v, want nil and 3", res.Err, res.Out())
	}
}

func TestEmitAfterCancelFails(t *testing.T) {
	n := New(t, &passSpec, Setup{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := n.RunContext(ctx, t, In{Streams: map[string]*Source{"s": Chunks(1)}})
	// Next returns the chunk already there (as the engine's streams do);
	// the emit of it fails.
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("err = %v, want ErrCancelled from Emit", res.Err)
	}
	res = n.RunContext(ctx, t, In{Streams: map[string]*Source{"s": Chan(make(chan any))}})
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("nothing to read: err = %v, want context.Canceled from Next", res.Err)
	}
	spec := passSpec
	spec.New = func(registry.Config, registry.Env) (registry.Node, error) {
		return emitTwice{}, nil
	}
	res = New(t, &spec, Setup{}).Run(t, In{Streams: map[string]*Source{"s": Chunks()}, CancelAfter: 1})
	if !errors.Is(res.Err, registry.ErrCancelled) || !res.Cancelled["s"] {
		t.Errorf("err = %v, cancelled = %v, want ErrCancelled and s cancelled", res.Err, res.Cancelled["s"])
	}
}

// emitTwice emits two chunks and cancels its input when Emit fails.
type emitTwice struct{}

func (emitTwice) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	for i := range 2 {
		if err := out.Emit(ctx, "out", i); err != nil {
			in.Stream("s").Cancel()
			return err
		}
	}
	return nil
}

func TestStreamFailure(t *testing.T) {
	n := New(t, &passSpec, Setup{})
	boom := errors.New("boom")
	res := n.Run(t, In{Streams: map[string]*Source{"s": Chunks(1).Fail(boom)}})
	if !errors.Is(res.Err, boom) {
		t.Errorf("err = %v, want boom", res.Err)
	}
}

func TestConstantOnStreamInput(t *testing.T) {
	n := New(t, &passSpec, Setup{Params: map[string]any{"s": 5}})
	if res := n.Run(t, In{}); res.Out() != 5 {
		t.Errorf("final = %v, want 5 (a constant is a one-chunk stream)", res.Out())
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Build(&passSpec, Setup{Params: map[string]any{"nope": 1}}); err == nil {
		t.Error("unknown parameter: no error")
	}
	spec := passSpec
	spec.Inputs = append(spec.Inputs, registry.Input{Name: "need", Const: true, Doc: "x"})
	if _, err := Build(&spec, Setup{}); err == nil {
		t.Error("missing parameter: no error")
	}
	spec.Check = func(cfg registry.Config) error {
		return &registry.ParamError{Param: "need", Err: errors.New("bad")}
	}
	_, err := Build(&spec, Setup{Params: map[string]any{"need": 1}})
	var pe *registry.ParamError
	if !errors.As(err, &pe) || pe.Param != "need" {
		t.Errorf("err = %v, want the ParamError from Check", err)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// runRecorded runs f with a recorder on its own goroutine, so that a
// Fatalf (Goexit) ends only that goroutine, and returns the messages.
func runRecorded(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msgs
}

type badNode struct{}

func (badNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	in.Value("x").([]any)[0] = "changed"
	out.Set("nope", 1)
	out.Set("out", []string{"not", "json"})
	return nil
}

func TestContractViolations(t *testing.T) {
	spec := registry.Spec{
		Type:    "test.bad",
		Inputs:  []registry.Input{{Name: "x"}},
		Outputs: []registry.Output{{Name: "out"}},
		New:     func(registry.Config, registry.Env) (registry.Node, error) { return badNode{}, nil },
	}
	msgs := runRecorded(t, func(tb testing.TB) {
		New(tb, &spec, Setup{}).Run(tb, In{Values: map[string]any{"x": []any{"a"}}})
	})
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"modified its input", "unknown output", "not JSON-shaped"} {
		if !strings.Contains(joined, want) {
			t.Errorf("messages %q do not mention %q", joined, want)
		}
	}
	msgs = runRecorded(t, func(tb testing.TB) {
		New(tb, &spec, Setup{}).Run(tb, In{})
		tb.Errorf("not reached")
	})
	if len(msgs) != 1 || !strings.Contains(msgs[0], "required input") {
		t.Errorf("missing input: messages %q, want one about the required input", msgs)
	}
}

// wrongTypeNode sets and emits values its outputs do not declare.
type wrongTypeNode struct{}

func (wrongTypeNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	out.Set("n", "three")
	return out.Emit(ctx, "s", 3)
}

func TestOutputTypes(t *testing.T) {
	spec := registry.Spec{
		Type:    "test.types",
		Streams: true,
		Outputs: []registry.Output{{Name: "n", Type: registry.Number}, {Name: "s", Type: registry.String}},
		New:     func(registry.Config, registry.Env) (registry.Node, error) { return wrongTypeNode{}, nil },
	}
	msgs := runRecorded(t, func(tb testing.TB) {
		New(tb, &spec, Setup{}).Run(tb, In{})
	})
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{`Set("n"): output "n" is declared number, got string three`, `Emit("s"): output "s" is declared string, got int 3`} {
		if !strings.Contains(joined, want) {
			t.Errorf("messages %q do not mention %q", joined, want)
		}
	}
}

func TestDocProblems(t *testing.T) {
	reg := registry.New()
	if err := reg.Register(passSpec); err != nil {
		t.Fatal(err)
	}
	if p := DocProblems(reg); len(p) != 0 {
		t.Errorf("documented type: problems %q", p)
	}
	bad := passSpec
	bad.Type = "test.bad"
	bad.Doc = ""
	bad.Inputs = []registry.Input{{Name: "s", Stream: true}, {Name: "k", Const: true, Doc: "k"}}
	bad.Example = ""
	if err := reg.Register(bad); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(DocProblems(reg), "\n")
	for _, want := range []string{`no Doc`, `input "s": no Doc`, `Example: empty`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q do not mention %q", got, want)
		}
	}
}

// forgetfulNode declares SavesState but saves only part of its state.
type forgetfulNode struct{ runs, saved int }

func (n *forgetfulNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	n.runs++
	n.saved++
	out.Set("out", n.runs)
	return nil
}

func (n *forgetfulNode) MarshalState() ([]byte, error) { return []byte(fmt.Sprint(n.saved)), nil }

func (n *forgetfulNode) UnmarshalState(data []byte) error {
	_, err := fmt.Sscan(string(data), &n.saved)
	return err
}

func TestMove(t *testing.T) {
	spec := registry.Spec{
		Type:       "test.forgetful",
		Outputs:    []registry.Output{{Name: "out"}},
		Stateful:   true,
		SavesState: true,
		New:        func(registry.Config, registry.Env) (registry.Node, error) { return &forgetfulNode{}, nil },
	}
	n := New(t, &spec, Setup{})
	n.Run(t, In{})
	first := n.Impl
	n.Move(t)
	if n.Impl == first || n.Impl.(*forgetfulNode).saved != 1 {
		t.Fatalf("Move: instance %p (was %p), saved state %d, want a new instance with 1", n.Impl, first, n.Impl.(*forgetfulNode).saved)
	}
	// The part of the state it does not save is lost: the run gives 1,
	// which a test comparing with an unmoved node catches.
	if got := n.Run(t, In{}).Out(); got != 1 {
		t.Errorf("after Move: %v, want 1 (runs is not saved)", got)
	}

	spec.SavesState = false
	msgs := runRecorded(t, func(tb testing.TB) { New(tb, &spec, Setup{}).Move(tb) })
	if len(msgs) != 1 || !strings.Contains(msgs[0], "does not declare SavesState") {
		t.Errorf("Move of a type without SavesState: messages %q", msgs)
	}
	spec.SavesState = true
	spec.New = func(registry.Config, registry.Env) (registry.Node, error) { return &passNode{}, nil }
	msgs = runRecorded(t, func(tb testing.TB) { New(tb, &spec, Setup{}).Move(tb) })
	if len(msgs) != 1 || !strings.Contains(msgs[0], "does not implement registry.StateMarshaler") {
		t.Errorf("Move of a node without the methods: messages %q", msgs)
	}
}
