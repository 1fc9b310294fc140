// Package registry is flowrun's node SDK: the declaration of a node type
// ([Spec], [Input], [Output]), the run-time interface a node implements
// ([Node], with [Inputs], [Outputs] and [Stream]) and the [Registry] that maps
// type names to declarations.
//
// A registry is an ordinary value: create one with [New], add the built-in
// types with builtin.Register and your own with [Registry.Register]. The
// package imports nothing else from flowrun, so a Go program can embed
// flowrun and implement node types without depending on the engine.
//
// # Run-time contract
//
// The engine calls [Spec].New once per node of a flow, before anything runs,
// and then calls [Node].Run once per run ("generation") of that node. Runs
// of one node never overlap, so a node keeps state across runs in its own
// fields without locks. Runs of different nodes are concurrent.
//
// A run reads its inputs from [Inputs]: a value input with [Inputs.Value], a
// stream input with [Inputs.Stream]. It publishes results with
// [Outputs.Set] (the final value of an output) and, for streaming types,
// [Outputs.Emit] (one chunk). The final value of an output that was never
// Set is the accumulation of its chunks: strings concatenate, numbers add,
// lists concatenate, anything else gives the list of chunks.
//
// A run may happen more than once: a retry policy runs it again, and on a
// cluster a run whose worker died is delivered to another worker. A node
// with side effects outside the flow (a payment, a message, a paid API
// call) passes on [IdempotencyKey](in), "<flow run>/<node>/<generation>",
// which is the same every time, to a service that deduplicates by it;
// http.request and llm.chat send it as the [IdempotencyHeader] header.
//
// # Values
//
// Values are JSON-shaped: nil, bool, string, []any, map[string]any and
// numbers. A number arrives as one of three Go types: int (whole numbers
// written in flow files, and integer results of the built-in types), float64
// (other numbers, and every number decoded from JSON text) or int64 (from
// a Go program that hands the engine values of its own). Read numbers with
// [AsFloat] and [AsInt], or a parameter with [Params.Int] and
// [Params.Float], rather than with a type switch; produce int or float64.
// A node must not modify a value it received, since the same value is
// shared with every other consumer.
//
// # Parameters
//
// An input declared Const is a parameter: its value is a constant of the
// flow file (or the default) and reaches [Spec].New in [Config].Params.
// Read it with the typed accessors of [Params], which return a
// [*ParamError] that the loader reports at the parameter's position. The
// loader calls [Spec].Check, or New when Check is nil, for every node
// before anything runs, so a bad parameter fails `flowrun validate`.
//
// # State
//
// A type that keeps state across runs declares [Spec].Stateful. Such a node
// runs in the process running the flow, unless its type also declares
// [Spec].SavesState and its node implements [StateMarshaler]
// (MarshalState, UnmarshalState): then, when a flow runs on workers
// (docs/cluster.md), its runs may move from worker to worker, each
// restoring the state the previous run saved. nodetest's Node.Move checks
// that a type saves all of its state.
//
// # Resources
//
// New does no I/O. A node that needs a resource (a connection, a file, a
// terminal) acquires it in its first Run and implements [Closer]: the
// engine calls Close once when the flow ends, however it ends.
package registry
