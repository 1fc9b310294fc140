package registry

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"net/http"

	"github.com/flowrun/flowrun/secret"
)

// A JSONType names the JSON type of an input or output, as in JSON Schema.
// The zero value, [Any], accepts every value.
type JSONType string

// The JSON types an input or output can declare.
const (
	Any     JSONType = ""
	String  JSONType = "string"
	Number  JSONType = "number"
	Integer JSONType = "integer"
	Boolean JSONType = "boolean"
	Array   JSONType = "array"
	Object  JSONType = "object"
)

// Accepts reports whether v, a JSON-shaped value, has type t. Null is
// accepted by every type, since null is how "no value" travels in a flow.
func (t JSONType) Accepts(v any) bool {
	if v == nil || t == Any {
		return true
	}
	switch v := v.(type) {
	case string:
		return t == String
	case bool:
		return t == Boolean
	case int, int64:
		return t == Number || t == Integer
	case float64:
		return t == Number || (t == Integer && v == float64(int64(v)))
	case []any:
		return t == Array
	case map[string]any:
		return t == Object
	}
	return false
}

// CanFeed reports whether an output of type t can ever give a value that
// an input of type in accepts: always when either is [Any]; [Number] and
// [Integer] feed each other (a number may be whole); other types only
// themselves. The loader rejects a connection for which it is false.
func (t JSONType) CanFeed(in JSONType) bool {
	if t == Any || in == Any || t == in {
		return true
	}
	return (t == Number && in == Integer) || (t == Integer && in == Number)
}

// An Input declares one input of a node type.
type Input struct {
	// Name is the input's name in flow files: lower case, [a-z][a-z0-9_]*.
	Name string
	// Type is the JSON type the input accepts; Any accepts everything.
	Type JSONType
	// Doc is one sentence for `flowrun explain`.
	Doc string
	// Default is the value used when the input is not bound in the flow
	// file, or to start a cycle. It is meaningful only when HasDefault is
	// true, so that null, 0 and "" remain legal defaults.
	Default    any
	HasDefault bool
	// Stream marks a stream input: the node reads the producer's chunks as
	// they arrive with [Inputs.Stream] instead of waiting for its final value.
	Stream bool
	// Const marks a parameter: the input must be a constant written in the
	// flow file (or its default) and cannot be connected. Parameters are
	// given to [Spec].New, so they are checked before anything runs.
	Const bool
	// Enum, when not empty, lists the values a constant may take.
	Enum []any
}

// Required reports whether the input needs a binding in the flow file.
func (in Input) Required() bool { return !in.HasDefault }

// An Output declares one output of a node type. The first output is the one
// a bare reference to the node ("node" rather than "node.output") means.
type Output struct {
	// Name is the output's name in flow files: lower case, [a-z][a-z0-9_]*.
	Name string
	// Type is the JSON type of the output's final value and, for a
	// streaming type, of each chunk; null is always allowed. Any (the zero
	// value) promises nothing. The loader rejects a connection from this
	// output to an input whose type can never accept it (see
	// [JSONType.CanFeed]), and nodetest fails a run that sets or emits a
	// value of another type.
	Type JSONType
	// Doc is one sentence for `flowrun explain`.
	Doc string
}

// A Spec declares a node type: everything the loader, the schema generator,
// `flowrun explain` and the engine need to know about it.
type Spec struct {
	// Type is the type name used in flow files: lower-case dotted words,
	// such as "math.inc" or "llm.chat".
	Type string
	// Doc describes the type: first line a summary, then details.
	Doc string
	// Inputs and Outputs are declared in order; their names are unique.
	Inputs  []Input
	Outputs []Output
	// Variadic, when not nil, lets a flow declare inputs beyond Inputs:
	// any other name is accepted and takes this declaration (its Name is
	// ignored). The expr and text.format types use it for named operands.
	Variadic *Input
	// Streams marks a type whose runs emit chunks with [Outputs.Emit].
	Streams bool
	// Stateful marks a type that keeps state across runs in its instance.
	Stateful bool
	// Restartable marks a Stateful type whose run may start over, for the
	// same generation, when a stream it reads starts over: the stream's
	// producer was run again (its worker died, docs/cluster.md) and
	// streamed something else (docs/execution.md, "Restarted
	// generations"). Declare it when the type's runs change the node's
	// state only once the streams they read ended, or undo what they
	// changed when they are cancelled with [ErrRestarted]. The run is then
	// cancelled with ErrRestarted (its reads of the old stream return it),
	// and once it returned it is executed again on the new stream, where
	// [Restarts] says how many times it started over. Without it, that
	// producer's rerun fails the flow. Stateless types always restart.
	Restartable bool
	// SavesState marks a stateful type whose nodes implement
	// [StateMarshaler]: their state can be saved after a run and restored
	// into a new instance before the next one, so that their runs may take
	// place on worker processes (docs/cluster.md). A stateful type without
	// it always runs in the process running the flow.
	SavesState bool
	// Live marks a source that runs again as soon as its consumers took
	// its previous value, instead of waiting to be asked: an input reader
	// that reads the next line while the rest of the flow works.
	Live bool
	// Interruptible marks a type whose runs the user may cut with an
	// interrupt (Ctrl-C) in an interactive flow, such as an LLM's answer:
	// the run's context is cancelled with [ErrInterrupted], and the run
	// then gives its consumers what it chooses (llm.chat sets the partial
	// answer marked " [interrupted]"): the values it Set, else the
	// accumulation of the chunks it emitted. Runs of other types are never
	// cut by an interrupt, and a value produced by a run that ended only
	// because an interrupted stream reached it is never passed on (see
	// docs/execution.md, "Interrupts").
	Interruptible bool
	// Effects lists what the type does besides computing outputs from
	// inputs: runs processes, reads or writes files, uses the network,
	// reads the terminal. Nil means none. A [Policy] refuses types by
	// their effects.
	Effects []Effect
	// Example is a YAML snippet (one node entry) shown by `flowrun explain`.
	Example string
	// Check validates the parameters of a node when the flow is loaded
	// (by `flowrun validate` too), before anything runs; it receives the
	// same [Config] as New. Return a [*ParamError], as the accessors of
	// [Params] do, to point the error at one parameter. Check is optional:
	// when it is nil the loader calls New with a zero [Env] and drops the
	// node, which is right for the usual New that only reads parameters.
	// Set Check when New needs its Env to succeed.
	Check func(cfg Config) error
	// New creates a node instance for one node of a flow, once per run of
	// the flow. It must not start goroutines or do I/O: acquire resources
	// in the first Run, and release them in Close (see [Closer]).
	New func(cfg Config, env Env) (Node, error)
}

// CheckParams checks the parameters of a node of the type as the loader
// does: with Check, or else by calling New with a zero [Env].
func (s *Spec) CheckParams(cfg Config) error {
	if s.Check != nil {
		return s.Check(cfg)
	}
	_, err := s.New(cfg, Env{})
	return err
}

// Input returns the declaration of the named input, including variadic
// inputs, and whether the type has it.
func (s *Spec) Input(name string) (Input, bool) {
	for _, in := range s.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	if s.Variadic != nil && name != "" {
		in := *s.Variadic
		in.Name = name
		return in, true
	}
	return Input{}, false
}

// OutputIndex returns the position of the named output, or -1.
func (s *Spec) OutputIndex(name string) int {
	for i, out := range s.Outputs {
		if out.Name == name {
			return i
		}
	}
	return -1
}

// Config gives a node its parameters and its place in the flow.
type Config struct {
	// ID is the node's id in the flow file.
	ID string
	// Params holds the value of every Const input (constant or default)
	// and, for information, the constants bound to other inputs. Read
	// them with its typed accessors, such as [Params.Duration]. It may be
	// nil (no constant): never write to it.
	Params Params
	// Inputs lists the names of all inputs the node has in this flow,
	// declared and variadic, in declaration order then file order.
	Inputs []string
	// Dir is the directory of the flow file, for resolving relative paths.
	Dir string
}

// Env carries the side effects a node may use. The engine fills it from
// the CLI or from the embedding program; nodes never reach for os.Stdin,
// os.Stdout or http.DefaultClient themselves.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; nil means no variables are set. The
	// engine sets it to the flow's (graph.Options.Getenv, by default the
	// process's environment, [OSEnv]).
	Getenv func(string) string
	// HTTPClient is used by nodes that speak HTTP; nil means a default
	// client with sensible timeouts.
	HTTPClient *http.Client
	// Logger receives the node's diagnostics; nil discards them.
	Logger *slog.Logger
	// Interactive is true when Stdin and Stdout are a terminal.
	Interactive bool
	// Console, when not nil, is the terminal of an interactive flow,
	// shared by the nodes that read what the user types and print for
	// them (term.input, term.print), so that output appears above the
	// line being typed instead of in its middle. The CLI sets it when
	// Interactive; nil means each node uses Stdin and Stdout.
	Console Console
	// Secrets holds the values that must never be shown, such as the
	// API keys read through Getenv (which the CLI's Getenv records in
	// it). The CLI masks them in Stderr, the log and the event log; a node
	// uses it to tell a secret apart, for example to keep a header that
	// holds one from following a redirect to another origin. Nil holds
	// none.
	Secrets *secret.Set
	// ValueLimit bounds, in bytes, the whole values built from streams
	// (read it with [Env.MaxValueBytes]): 0 means [DefaultMaxValueBytes],
	// a negative number no limit. The engine sets it from its options.
	ValueLimit int64
	// Shared holds the objects the nodes of this run of the flow share
	// (see [Shared]); the engine sets it, nil outside the engine.
	Shared *Shared
	// Interrupt, when not nil, cuts the runs in flight of interruptible
	// types (Spec.Interruptible, such as llm.chat's answer) as Ctrl-C does
	// in an interactive flow, and the flow goes on; it returns how many
	// runs it cut. The engine sets it for nodes that offer the user a way
	// to stop an answer other than the terminal, such as web.output's Stop
	// button.
	Interrupt func() int
	// Answers counts the answers shown and the failed ones (term.chat,
	// term.print with report_errors). The engine sets a new tally when
	// it is nil; a flow that is not interactive and ends cleanly after a
	// failed answer then fails with an [*AnswersFailedError].
	Answers *AnswerTally
}

// A Console is one terminal shared by the nodes of an interactive flow:
// a line editor reads lines, and what is written to Stdout appears above
// the line being edited, which stays intact.
type Console interface {
	// ReadLine shows prompt and returns the line the user entered. It
	// returns io.EOF at the end of input (Ctrl-D), an error of its own
	// for a Ctrl-C that ends the chat, and ctx's cause when ctx is done
	// first.
	ReadLine(ctx context.Context, prompt string) (string, error)
	// Stdout returns a writer whose output appears above the line being
	// edited.
	Stdout() io.Writer
}

// A Node is one instance of a node type in a running flow.
type Node interface {
	// Run performs one run. It blocks until the run is complete and returns
	// nil on success. When ctx is cancelled (the flow stops, or a consumer
	// cancelled this run's stream) Run should return promptly; what it
	// emitted until then stays emitted. Returning an error that wraps
	// [ErrStop] ends the flow cleanly.
	Run(ctx context.Context, in Inputs, out Outputs) error
}

// A Closer is a [Node] that holds a resource beyond its runs (a
// connection, a file, a terminal line editor) and releases it in Close.
// It is optional: the engine checks each node for it with a type
// assertion.
//
// The engine calls Close exactly once per node instance, when the flow
// ends however it ends (nothing left to run, stopped by a node, a
// generation limit, a failure, an interruption), after every run of the
// flow returned, so Close never overlaps a Run. Nodes are closed in the
// reverse order of their first run; nodes that never ran are closed
// first. A node whose constructor succeeded is closed even if it never
// ran, so Close must cope with a node that did nothing.
//
// Close blocks until the resource is released or ctx is done; ctx is
// not the flow's (which has ended) but a fresh one with a deadline. An
// error returned by Close is reported with the node's name; it does not
// change how the flow ended.
type Closer interface {
	Close(ctx context.Context) error
}

// A StateMarshaler is a node of a stateful type that declares
// [Spec].SavesState: what it keeps across runs can leave the process.
//
// When a flow runs on workers (docs/cluster.md), each run of such a node
// may take place on another worker, on a node instance of its own. The
// worker creates the instance with [Spec].New, restores the state the
// previous run left with UnmarshalState (not before the node's first
// run), calls Run once, saves the state with MarshalState and discards
// the instance (after Close, if it is a [Closer]). The state is saved
// after a failed run too, since an instance that stays in one process
// keeps what a failed run left. Running a node this way must give the
// same outputs as running one instance: nodetest's Node.Move checks it.
//
// The encoding is the node's choice; JSON (encoding/json) is usual.
// Saved state is stored in the NATS server between runs: keep it well
// under 1 MB.
type StateMarshaler interface {
	Node
	// MarshalState encodes the node's state. It is called after Run
	// returned, never during a run.
	MarshalState() ([]byte, error)
	// UnmarshalState sets the state of an instance fresh from New to one
	// that MarshalState returned, before its run.
	UnmarshalState(data []byte) error
}

// Inputs gives a run its input values.
type Inputs interface {
	// Value returns the value of a value input: the producer's final value,
	// a constant or the default. It returns nil for a stream input.
	Value(name string) any
	// Stream returns the stream of a stream input. For a value input it
	// returns a stream of its value as one chunk (no chunk for null).
	Stream(name string) Stream
	// Defaulted reports whether the input was fed from its default in this
	// run (the input is unbound, or this run starts a cycle).
	Defaulted(name string) bool
	// Generation is the number of runs this node completed before this one.
	Generation() int
}

// Outputs receives what a run produces.
type Outputs interface {
	// Set records the final value of the named output for this run.
	Set(name string, v any)
	// Emit sends one chunk on the named output. It blocks while a consumer
	// that is reading the stream has a full buffer (backpressure) and
	// returns an error wrapping [ErrCancelled] once the run is cancelled.
	Emit(ctx context.Context, name string, chunk any) error
}

// A Stream is a stream input: the chunks of the producer's run, in order.
type Stream interface {
	// Next blocks until the next chunk arrives and returns it with ok true.
	// At the end of the stream it returns ok false and a nil error if the
	// producer's run succeeded; the producer's error if it failed (under
	// on_error: continue); or [ErrInterrupted] if the user interrupted it
	// (Ctrl-C), which a reader may treat as an early end of the stream. It
	// returns ctx's error when ctx is done first: a chunk (or the end)
	// already there is returned even when ctx is done, so that a reader
	// can take what arrived without waiting by passing a done ctx.
	Next(ctx context.Context) (chunk any, ok bool, err error)
	// Cancel tells the producer that this consumer wants no more chunks:
	// the producer's run is stopped, and further calls to Next end the
	// stream. Cancel is idempotent.
	//
	// A node need not call Cancel when its run ends or its context is
	// done: when a run returns, the engine drops what it left unread of
	// its stream inputs (the producer goes on for its other consumers),
	// and when the run was cancelled by its own consumers or interrupted,
	// the engine cancels its stream inputs, so that the cancellation
	// reaches the producers.
	Cancel()
	// All returns an iterator over the remaining chunks, for
	//
	//	for chunk, err := range s.All(ctx) {
	//		if err != nil {
	//			return err
	//		}
	//		...
	//	}
	//
	// It yields each chunk with a nil error and ends at the end of the
	// stream; when Next reports an error, it yields it once, with a nil
	// chunk, and ends. Breaking out of the loop leaves the stream as it is
	// (call Cancel to stop the producer). [StreamAll] implements it.
	All(ctx context.Context) iter.Seq2[any, error]
}

// StreamAll implements [Stream].All with s.Next, for implementations of
// [Stream].
func StreamAll(ctx context.Context, s Stream) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for {
			chunk, ok, err := s.Next(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			if !ok || !yield(chunk, nil) {
				return
			}
		}
	}
}
