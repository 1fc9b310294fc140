package flowcli

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/internal/testenv"
	"github.com/flowrun/flowrun/registry"
)

func TestWriteDiagnostics(t *testing.T) {
	t.Parallel()
	src := []byte("nodes:\n  b:\n    type: math.icn\n\tx: 1\n")
	list := graph.ErrorList{
		{Pos: graph.Pos{File: "f.yaml", Line: 3, Col: 11}, Msg: `unknown type "math.icn"`},
		{Pos: graph.Pos{File: "f.yaml", Line: 4, Col: 2}, Msg: "tab"},
		{Pos: graph.Pos{File: "f.yaml", Line: 1}, Msg: "line only"},
	}
	tests := []struct {
		name string
		st   style
		want string
	}{
		{"plain", style{}, `f.yaml:3:11: unknown type "math.icn"
f.yaml:4:2: tab
f.yaml:1: line only
`},
		{"snippet", style{snippet: true}, `f.yaml:3:11: unknown type "math.icn"
  2 |   b:
> 3 |     type: math.icn
    |           ^
f.yaml:4:2: tab
  3 |     type: math.icn
> 4 | 	x: 1
    | 	^
f.yaml:1: line only
> 1 | nodes:
`},
		{"colour", style{snippet: true, color: true}, "\x1b[1mf.yaml:1:\x1b[0m line only\n\x1b[31m>\x1b[0m 1 | nodes:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := list
			if tt.st.color {
				l = list[2:]
			}
			var b bytes.Buffer
			writeDiagnostics(&b, l, sources{"f.yaml": src}, tt.st)
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestStyleFor(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	var b bytes.Buffer
	p := &program{getenv: env(nil)}
	if got := p.styleFor(&b); got != (style{}) {
		t.Errorf("styleFor(buffer) = %+v, want no snippet and no colour", got)
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := p.styleFor(f); got != (style{}) {
		t.Errorf("styleFor(regular file) = %+v, want no snippet and no colour", got)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	tests := []struct {
		env  map[string]string
		want style
	}{
		{nil, style{snippet: true, color: true}},
		{map[string]string{"NO_COLOR": "1"}, style{snippet: true}},
		{map[string]string{"NO_COLOR": ""}, style{snippet: true, color: true}},
		{map[string]string{"TERM": "dumb"}, style{snippet: true}},
	}
	for _, tt := range tests {
		p := &program{getenv: env(tt.env)}
		if got := p.styleFor(tty); got != tt.want {
			t.Errorf("styleFor(terminal) with %v = %+v, want %+v", tt.env, got, tt.want)
		}
	}
}

// testFlow builds a flow by hand: a ⇄ b (b.x seeded from its default), c
// reads a's stream, d runs after c and reads a's second output.
func testFlow() *graph.Flow {
	spec := &registry.Spec{Type: "t.node", Outputs: []registry.Output{{Name: "out"}, {Name: "err"}}}
	a := &graph.Node{ID: "a", Type: "math.inc", Spec: spec, Index: 0}
	b := &graph.Node{ID: "b", Type: "math.mul", Spec: spec, Index: 1}
	c := &graph.Node{ID: "c", Type: "text.upper", Spec: spec, Index: 2}
	d := &graph.Node{ID: "d\"q", Type: "value.sink", Spec: spec, Index: 3}
	a.Inputs = []*graph.Binding{{Name: "x", Kind: graph.Connected, From: graph.Ref{Node: b, Output: "out"}, HasDefault: true, Default: 0, Seeded: true}}
	b.Inputs = []*graph.Binding{
		{Name: "x", Kind: graph.Connected, From: graph.Ref{Node: a, Output: "out"}},
		{Name: "by", Kind: graph.Constant, Value: 2},
	}
	c.Inputs = []*graph.Binding{{Name: "text", Kind: graph.Connected, Stream: true, From: graph.Ref{Node: a, Output: "out"}}}
	d.Inputs = []*graph.Binding{{Name: "x", Kind: graph.Connected, From: graph.Ref{Node: a, Output: "err", Index: 1}}}
	d.After = []*graph.Binding{{Name: "c", Kind: graph.Ordering, From: graph.Ref{Node: c, Output: "out"}}}
	return &graph.Flow{Name: "loop", Nodes: []*graph.Node{a, b, c, d}}
}

func TestWriteDot(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeDot(&b, testFlow()); err != nil {
		t.Fatal(err)
	}
	want := `digraph "loop" {
  rankdir=LR;
  node [shape=box];
  "a" [label="a (math.inc)"];
  "b" [label="b (math.mul)"];
  "c" [label="c (text.upper)"];
  "d\"q" [label="d\"q (value.sink)"];
  "b" -> "a" [label="x (back edge, default 0)", color="#c0392b", fontcolor="#c0392b", constraint=false];
  "a" -> "b" [label="x"];
  "a" -> "c" [label="text", style=bold, penwidth=2];
  "a" -> "d\"q" [label="err → x"];
  "c" -> "d\"q" [label="after", style=dotted];
}
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteMermaid(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeMermaid(&b, testFlow()); err != nil {
		t.Fatal(err)
	}
	want := `flowchart LR
  n0["a (math.inc)"]
  n1["b (math.mul)"]
  n2["c (text.upper)"]
  n3["d#quot;q (value.sink)"]
  n1 -->|"x (back edge, default 0)"| n0
  n0 -->|"x"| n1
  n0 ==>|"text"| n2
  n0 -->|"err → x"| n3
  n2 -.->|"after"| n3
  linkStyle 0 stroke:#c0392b,color:#c0392b
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWatchSignals(t *testing.T) {
	t.Parallel()
	type event string
	tests := []struct {
		name    string
		signals []os.Signal
		want    []event
	}{
		{"SIGINT interrupts", []os.Signal{os.Interrupt}, []event{"interrupt"}},
		// However soon it follows the first: the engine decides what an
		// interrupt does.
		{"every SIGINT interrupts", []os.Signal{os.Interrupt, os.Interrupt, os.Interrupt}, []event{"interrupt", "interrupt", "interrupt"}},
		{"SIGTERM stops", []os.Signal{syscall.SIGTERM}, []event{"stop"}},
		{"SIGTERM after SIGINT stops", []os.Signal{os.Interrupt, syscall.SIGTERM}, []event{"interrupt", "stop"}},
		{"SIGINT after SIGTERM", []os.Signal{syscall.SIGTERM, os.Interrupt}, []event{"stop", "interrupt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sigs := make(chan os.Signal)
			done := make(chan struct{})
			events := make(chan event, 4)
			exited := make(chan struct{})
			go func() {
				watchSignals(sigs, done, func() { events <- "interrupt" }, func() { events <- "stop" })
				close(exited)
			}()
			for _, s := range tt.signals {
				sigs <- s
			}
			for _, want := range tt.want {
				select {
				case got := <-events:
					if got != want {
						t.Fatalf("event %q, want %q", got, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no %q event", want)
				}
			}
			close(done)
			<-exited
			if len(events) != 0 {
				t.Errorf("unexpected event %q", <-events)
			}
		})
	}
}

func TestDescribeDefaults(t *testing.T) {
	t.Parallel()
	spec := &registry.Spec{
		Type: "t.x", Doc: "Summary line.\n\nDetails.",
		Inputs: []registry.Input{
			{Name: "req", Type: registry.Number},
			{Name: "nul", HasDefault: true, Default: nil},
			{Name: "zero", Type: registry.Integer, HasDefault: true, Default: 0, Const: true, Enum: []any{0, 1}},
		},
		Outputs: []registry.Output{{Name: "out"}},
	}
	var b bytes.Buffer
	if err := writeExplain(&b, spec); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"t.x: Summary line.\n\nDetails.\n",
		"  req   number         (required)  value\n",
		"  nul   any            null        value\n",
		"  zero  integer (0|1)  0           parameter\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, b.String())
		}
	}
}
