// Package nodetest runs one node type in-process, without a flow or an
// engine, so that a node type's test is a few lines: build the node with
// [Build] or [New], run it with [Node.Run] on value inputs and stream inputs
// ([Chunks], [Chan]), and inspect the [Result]: the values Set, the chunks
// emitted, the final value of every output (the accumulation rule applied to
// outputs never Set) and which stream inputs the node cancelled.
//
// [CheckDocs] verifies that every type in a registry is documented and has
// a well-formed YAML example.
package nodetest
