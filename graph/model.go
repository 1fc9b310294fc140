package graph

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flowrun/flowrun/registry"
)

// A Pos is a position in a flow file. Line and Col are 1-based; a Pos with
// Line 0 is unknown, and a Pos with Col 0 names a whole line.
type Pos struct {
	File string
	Line int
	Col  int
}

// String returns "file:line:col", "file:line" or "file".
func (p Pos) String() string {
	switch {
	case p.Line <= 0:
		return p.File
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether the position names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// A Flow is a loaded, checked flow: every node's type is known, every input
// is bound, and every cycle can start. Subflows are already expanded.
type Flow struct {
	// Name and Description come from the file; Name defaults to the file
	// name without extension.
	Name        string
	Description string
	// File is the path the flow was loaded from.
	File string
	// Nodes lists the nodes in file order (a subflow's nodes take the place
	// of the node that used it). Node.Index is the position in this slice.
	Nodes []*Node
	// Outputs maps the declared outputs of a subflow file to references.
	// It is empty for an ordinary flow.
	Outputs map[string]Ref
	// Getenv reads the environment the flow was loaded with
	// (Options.Getenv, by default the process's); the engine hands it to
	// the nodes. Nil, in a Flow not made by [Load], means the process's.
	Getenv func(string) string

	byID map[string]*Node
}

// Node returns the node with the given id, or nil.
func (f *Flow) Node(id string) *Node { return f.byID[id] }

// A Node is one node of a flow.
type Node struct {
	// ID is unique in the flow. Nodes expanded from a subflow have ids of
	// the form "parent/child".
	ID string
	// Type is the registered type name and Spec its declaration.
	Type string
	Spec *registry.Spec
	// Index is the node's position in Flow.Nodes (file order).
	Index int
	// Pos is the position of the node's id in the file (TypePos returns
	// that of its type).
	Pos Pos
	// typeLine and typeCol are the position of the type, in Pos.File.
	typeLine, typeCol int32
	// Inputs has one binding per input the node has: the declared inputs
	// in declaration order, then variadic inputs in file order.
	Inputs []*Binding
	// After lists ordering-only dependencies (the `after:` key): the
	// node's next run waits for a fresh run of each of them.
	After []*Binding
	// OnError is the error policy: "fail" (default) ends the flow on a
	// failed run; "continue" reports it and goes on.
	OnError string
	// Retry, when not nil, retries a failed run before applying OnError.
	Retry *Retry
	// MaxGenerations limits the node's runs (0: no limit).
	MaxGenerations int
	// Placement is where the node runs when the flow runs on workers
	// (flowrun run --nats): PlaceLocal, PlaceWorker, or "" to let the
	// node's type decide (the `placement:` key).
	Placement string
	// Params holds the constant value of every Const input, ready for
	// Spec.New (see registry.Config); it is nil when there is none. Treat
	// it as read-only.
	Params map[string]any
}

// TypePos returns the position of the node's type in the file.
func (n *Node) TypePos() Pos {
	return Pos{File: n.Pos.File, Line: int(n.typeLine), Col: int(n.typeCol)}
}

// setTypePos records p, a position in n.Pos.File, as TypePos.
func (n *Node) setTypePos(p Pos) {
	n.typeLine, n.typeCol = clamp32(p.Line), clamp32(p.Col)
}

// clamp32 returns i as an int32, saturated.
func clamp32(i int) int32 {
	return int32(min(max(i, math.MinInt32), math.MaxInt32))
}

// The values of the `placement:` key (Node.Placement).
const (
	// PlaceLocal runs the node in the process that runs the flow.
	PlaceLocal = "local"
	// PlaceWorker runs the node on a worker when the flow runs on workers.
	PlaceWorker = "worker"
)

// ErrorOutput is the output a node with on_error: continue has besides its
// type's outputs: the cause of a failed run, as a string, or null after a
// run that succeeded. Consumers can connect to it ("node.error").
const ErrorOutput = "error"

// Outputs returns the node's outputs: its type's, plus ErrorOutput when a
// failed run does not end the flow (on_error: continue) and the type has
// no output of that name.
func (n *Node) Outputs() []registry.Output {
	if n.OnError != "continue" || n.Spec.HasOutput(ErrorOutput) {
		return n.Spec.Outputs
	}
	return append(slices.Clip(n.Spec.Outputs), registry.Output{
		Name: ErrorOutput, Type: registry.String,
		Doc: "Why the last run failed, or null when it succeeded (on_error: continue).",
	})
}

// Input returns the node's binding of the named input, or nil.
func (n *Node) Input(name string) *Binding {
	for _, b := range n.Inputs {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Retry is a node's retry policy for failed runs.
type Retry struct {
	// Attempts is the total number of attempts, at least 1.
	Attempts int
	// Delay is the wait before the first retry; it doubles after each,
	// up to MaxDelay.
	Delay time.Duration
	// MaxDelay caps the wait; 0 means no cap. The flow file's max_delay
	// defaults to 10s (or Delay, if that is longer).
	MaxDelay time.Duration
}

// A BindKind tells how an input gets its value.
type BindKind uint8

// The ways an input can be bound.
const (
	// Connected: the input reads another node's output (`inputs:`).
	Connected BindKind = iota
	// Constant: the input has a constant from the file (`with:` or --set).
	Constant
	// Defaulted: the input is unbound and uses its default.
	Defaulted
	// Ordering: an `after:` dependency, which carries no data.
	Ordering
)

// A Binding says where one input of a node gets its value.
type Binding struct {
	// Name is the input's name; Spec its declaration, shared with the
	// node type's (for After bindings, a zero Input). Spec is never nil
	// in a loaded flow; treat it as read-only.
	Name string
	Spec *registry.Input
	Kind BindKind
	// HasDefault and Default give the input's effective default: the
	// flow file's `defaults:` entry, else the type's.
	HasDefault bool
	// Stream is true for a Connected stream input.
	Stream bool
	// Seeded marks a Connected input fed from its default at the node's
	// first run because the node starts a cycle (see the package doc).
	Seeded bool
	// From is the producer of a Connected or Ordering binding.
	From Ref
	// Value is the constant (Constant) or the default (Defaulted).
	Value any
	// Default is the effective default, when HasDefault.
	Default any
	// Pos is where the binding is written (the key under inputs, with or
	// after); for a Defaulted input, the node's position. DefaultPos is the
	// position of the `defaults:` entry, if any.
	Pos        Pos
	DefaultPos Pos
}

// A Ref names an output of a node.
type Ref struct {
	Node   *Node
	Output string
	// Index is the output's position in Node.Outputs().
	Index int
}

// String returns "node.output".
func (r Ref) String() string {
	if r.Node == nil {
		return "<nil>"
	}
	return r.Node.ID + "." + r.Output
}

// NotOnWorker says why nodes of type spec cannot run on a worker process,
// or returns "" if they can: live types and stateful types that do not
// save their state (Spec.SavesState) keep it in the instance of the
// process running the flow, and terminal types use its terminal.
func NotOnWorker(spec *registry.Spec) string {
	switch {
	case spec.Live:
		return "a live source runs in the process running the flow"
	case slices.Contains(spec.Effects, registry.Terminal), strings.HasPrefix(spec.Type, "term."):
		return "it uses the terminal of the process running the flow"
	case spec.Stateful && !spec.SavesState:
		return "a stateful node keeps its state in the process running the flow (its type does not declare SavesState, see registry.StateMarshaler)"
	}
	return ""
}
