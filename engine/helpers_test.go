package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// The engine's tests build flows in Go, without the loader, from a few
// node types defined here; the conformance suite in tests/ runs YAML flows
// with the built-in types.

// trace records what nodes observe, in order, safely across goroutines.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (t *trace) add(format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, fmt.Sprintf(format, args...))
}

func (t *trace) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.events...)
}

// only returns the events that start with prefix.
func (t *trace) only(prefix string) []string {
	var out []string
	for _, e := range t.get() {
		if strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

type funcNode func(ctx context.Context, in registry.Inputs, out registry.Outputs) error

func (f funcNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	return f(ctx, in, out)
}

func num(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// testRegistry returns node types for engine tests; tr receives their
// observations.
func testRegistry(tr *trace) *registry.Registry {
	reg := registry.New()
	x := registry.Input{Name: "x", Type: registry.Any}
	out := []registry.Output{{Name: "out"}}
	mono := func(typ string, f func(id string, in registry.Inputs) (any, error), inputs ...registry.Input) {
		reg.MustRegister(registry.Spec{Type: typ, Inputs: inputs, Outputs: out,
			New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
				return funcNode(func(_ context.Context, in registry.Inputs, o registry.Outputs) error {
					v, err := f(cfg.ID, in)
					if err != nil {
						return err
					}
					o.Set("out", v)
					return nil
				}), nil
			}})
	}
	mono("inc", func(id string, in registry.Inputs) (any, error) {
		v := num(in.Value("x")) + 1
		tr.add("%s(%v)=%v", id, in.Value("x"), v)
		return v, nil
	}, x)
	mono("double", func(id string, in registry.Inputs) (any, error) {
		v := num(in.Value("x")) * 2
		tr.add("%s(%v)=%v", id, in.Value("x"), v)
		return v, nil
	}, x)
	mono("ident", func(id string, in registry.Inputs) (any, error) {
		tr.add("%s(%v)", id, in.Value("x"))
		return in.Value("x"), nil
	}, x)
	mono("add", func(id string, in registry.Inputs) (any, error) {
		v := num(in.Value("a")) + num(in.Value("b"))
		tr.add("%s(%v,%v)=%v", id, in.Value("a"), in.Value("b"), v)
		return v, nil
	}, registry.Input{Name: "a"}, registry.Input{Name: "b"})
	mono("source", func(id string, _ registry.Inputs) (any, error) {
		tr.add("%s", id)
		return 10, nil
	})
	mono("fail", func(id string, in registry.Inputs) (any, error) {
		tr.add("%s(%v)", id, in.Value("x"))
		if num(in.Value("x")) >= 3 {
			return nil, errors.New("boom")
		}
		return in.Value("x"), nil
	}, x)
	mono("stop", func(id string, in registry.Inputs) (any, error) {
		if num(in.Value("x")) >= 3 {
			return nil, fmt.Errorf("done: %w", registry.ErrStop)
		}
		return in.Value("x"), nil
	}, x)
	mono("plusone", func(_ string, in registry.Inputs) (any, error) {
		return num(in.Value("x")) + 1, nil
	}, x)
	mono("identity", func(_ string, in registry.Inputs) (any, error) {
		return in.Value("x"), nil
	}, x)
	mono("panic", func(string, registry.Inputs) (any, error) { panic("kaboom") })

	// emit streams the list in "items" (default: its "x" value, if a list).
	reg.MustRegister(registry.Spec{Type: "emit", Streams: true, Outputs: out,
		Inputs: []registry.Input{{Name: "items"}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				items, _ := in.Value("items").([]any)
				for _, it := range items {
					tr.add("%s yield %v", cfg.ID, it)
					if err := o.Emit(ctx, "out", it); err != nil {
						tr.add("%s cancelled", cfg.ID)
						return err
					}
				}
				tr.add("%s end", cfg.ID)
				return nil
			}), nil
		}})
	// count streams 0..n-1 without tracing (for benchmarks); n < 0 streams
	// until the run is cancelled.
	reg.MustRegister(registry.Spec{Type: "count", Streams: true, Outputs: out,
		Inputs: []registry.Input{{Name: "n"}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				n := int(num(in.Value("n")))
				for i := 0; n < 0 || i < n; i++ {
					if err := o.Emit(ctx, "out", i); err != nil {
						tr.add("count cancelled")
						return err
					}
				}
				return nil
			}), nil
		}})
	// upper maps a stream of strings to upper case, chunk by chunk.
	reg.MustRegister(registry.Spec{Type: "upper", Streams: true, Outputs: out,
		Inputs: []registry.Input{{Name: "s", Stream: true}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				s := in.Stream("s")
				for {
					c, ok, err := s.Next(ctx)
					if err != nil || !ok {
						return err
					}
					tr.add("%s got %v", cfg.ID, c)
					if err := o.Emit(ctx, "out", strings.ToUpper(fmt.Sprint(c))); err != nil {
						tr.add("%s cancelled", cfg.ID)
						return err
					}
				}
			}), nil
		}})
	// collect returns the list of chunks; with "take" > 0 it reads that
	// many and cancels the stream.
	reg.MustRegister(registry.Spec{Type: "collect", Outputs: out,
		Inputs: []registry.Input{{Name: "s", Stream: true}, {Name: "take", HasDefault: true, Default: 0}},
		New: func(cfg registry.Config, _ registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				s := in.Stream("s")
				take := int(num(in.Value("take")))
				list := []any{}
				tr.add("%s start", cfg.ID)
				for {
					c, ok, err := s.Next(ctx)
					if errors.Is(err, registry.ErrInterrupted) {
						tr.add("%s interrupted", cfg.ID)
						break // keep what arrived
					}
					if err != nil {
						return err
					}
					if !ok {
						break
					}
					tr.add("%s got %v", cfg.ID, c)
					list = append(list, c)
					if take > 0 && len(list) == take {
						s.Cancel()
					}
				}
				tr.add("%s end", cfg.ID)
				o.Set("out", list)
				return nil
			}), nil
		}})
	// drain reads a stream to its end and returns the number of chunks.
	reg.MustRegister(registry.Spec{Type: "drain", Outputs: out,
		Inputs: []registry.Input{{Name: "s", Stream: true}},
		New: func(registry.Config, registry.Env) (registry.Node, error) {
			return funcNode(func(ctx context.Context, in registry.Inputs, o registry.Outputs) error {
				s := in.Stream("s")
				n := 0
				for {
					_, ok, err := s.Next(ctx)
					if err != nil {
						return err
					}
					if !ok {
						o.Set("out", n)
						return nil
					}
					n++
				}
			}), nil
		}})
	return reg
}

// builder assembles a graph.Flow in Go for engine tests.
type builder struct {
	t    testing.TB
	reg  *registry.Registry
	flow *graph.Flow
	ids  map[string]*graph.Node
}

func newBuilder(t testing.TB, reg *registry.Registry) *builder {
	return &builder{t: t, reg: reg, flow: &graph.Flow{File: "test.yaml"}, ids: map[string]*graph.Node{}}
}

// node adds a node; bindings are "input=node" or "input=node.output"
// (connection), "input<-node" (seeded connection: starts a cycle with the
// declared default), "input:=value" (constant, a number or a word), and
// "after=node".
func (b *builder) node(id, typ string, bindings ...string) *builder {
	spec, ok := b.reg.Lookup(typ)
	if !ok {
		b.t.Fatalf("no type %q", typ)
	}
	n := &graph.Node{ID: id, Type: typ, Spec: spec, Index: len(b.flow.Nodes),
		Pos: graph.Pos{File: "test.yaml", Line: len(b.flow.Nodes) + 1, Col: 3}, Params: map[string]any{}}
	b.flow.Nodes = append(b.flow.Nodes, n)
	b.ids[id] = n
	bound := map[string]*graph.Binding{}
	for _, s := range bindings {
		b.bind(n, bound, s)
	}
	for i := range spec.Inputs {
		in := &spec.Inputs[i]
		bd := bound[in.Name]
		if bd == nil {
			bd = &graph.Binding{Name: in.Name, Spec: in, Kind: graph.Defaulted, Value: in.Default,
				HasDefault: in.HasDefault, Default: in.Default}
		}
		n.Inputs = append(n.Inputs, bd)
	}
	return b
}

func (b *builder) bind(n *graph.Node, bound map[string]*graph.Binding, s string) {
	in, _ := n.Spec.Input(strings.FieldsFunc(s, func(r rune) bool { return r == '=' || r == '<' || r == ':' })[0])
	bd := &graph.Binding{Name: in.Name, Spec: &in, HasDefault: in.HasDefault, Default: in.Default}
	switch {
	case strings.Contains(s, ":="):
		_, v, _ := strings.Cut(s, ":=")
		bd.Kind, bd.Value = graph.Constant, parseValue(v)
	case strings.HasPrefix(s, "after="):
		bd.Kind, bd.Name = graph.Ordering, "after"
		bd.From.Output = strings.TrimPrefix(s, "after=")
		n.After = append(n.After, bd)
		return
	case strings.Contains(s, "<-"):
		_, ref, _ := strings.Cut(s, "<-")
		bd.Kind, bd.Seeded, bd.From.Output = graph.Connected, true, ref
		bd.Stream = in.Stream
	default:
		_, ref, _ := strings.Cut(s, "=")
		bd.Kind, bd.From.Output = graph.Connected, ref
		bd.Stream = in.Stream
	}
	bound[in.Name] = bd
}

// withDefault sets the default of a node's input.
func (b *builder) withDefault(id, input string, v any) *builder {
	bd := b.ids[id].Input(input)
	bd.HasDefault, bd.Default = true, v
	if bd.Kind == graph.Defaulted {
		bd.Value = v
	}
	return b
}

func parseValue(s string) any {
	var f float64
	if _, err := fmt.Sscan(s, &f); err == nil {
		return f
	}
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var list []any
		for _, w := range strings.Fields(strings.Trim(s, "[]")) {
			list = append(list, parseValue(w))
		}
		return list
	}
	return s
}

// build resolves the references and returns the flow.
func (b *builder) build() *graph.Flow {
	for _, n := range b.flow.Nodes {
		for _, bd := range append(append([]*graph.Binding(nil), n.Inputs...), n.After...) {
			if bd.Kind != graph.Connected && bd.Kind != graph.Ordering {
				continue
			}
			id, out, _ := strings.Cut(bd.From.Output, ".")
			p := b.ids[id]
			if p == nil {
				b.t.Fatalf("node %s: no node %q", n.ID, id)
			}
			if out == "" {
				out = p.Spec.Outputs[0].Name
			}
			bd.From = graph.Ref{Node: p, Output: out, Index: p.Spec.OutputIndex(out)}
		}
	}
	return b.flow
}

func (b *builder) run(ctx context.Context, opts Options) (*Result, error) {
	b.t.Helper()
	return Run(ctx, b.build(), opts)
}
