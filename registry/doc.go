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
// Values are JSON-shaped: nil, bool, float64 or int, string, []any and
// map[string]any. A node must not modify a value it received, since the same
// value is shared with every other consumer.
package registry
