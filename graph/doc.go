// Package graph loads flow files: it parses the YAML, validates it against
// the JSON Schema generated from the node registry, checks its meaning
// (types, ports, bindings, cycles) and returns a [Flow] ready to run, or an
// [ErrorList] whose every entry points at file:line:col.
//
// Load is pure: it does no I/O except through the ReadFile function of
// [Options], which it uses to read subflow files. [ReadFileWithin] and
// [DefaultRoot], which build such a function, look at the file system.
//
// # Flow files
//
// A flow file is a YAML mapping with an optional version (1), name and
// description, and nodes: a mapping from node id to node. A node has a
// type (a registered node type, or the path of a subflow file), and binds
// its inputs in one of three ways: inputs: maps an input to a reference,
// "node" or "node.output" (a connection); with: maps it to a literal (a
// constant, which is how parameters are set); defaults: gives the value
// used until a connection has data, which is what starts a cycle. An
// input left unbound takes its type's default. A node may also list
// after: (ordering without data), on_error (fail or continue), retry
// (attempts, delay, max_delay) and max_generations. Constants may use
// ${VAR} and ${VAR:-default}. A subflow file declares inputs: and
// outputs: of its own. docs/flow-format.md in the repository describes
// every key, and schema/flow.schema.json is the JSON Schema editors use.
//
//	version: 1
//	nodes:
//	  a:
//	    type: math.inc
//	    inputs: {x: b}     # a connection
//	    defaults: {x: 0}   # starts the cycle a -> b -> a
//	  b:
//	    type: math.mul
//	    inputs: {x: a}
//	    with: {by: 2}      # a constant
//
// # Cycles
//
// A cycle can start only at a node whose inputs from inside the cycle all
// have defaults. For every strongly connected component of the connection
// graph the loader picks the first such node in file order, marks those
// inputs Seeded (fed from their defaults at the node's first run) and
// repeats on what remains of the component, so that every cycle has a
// starting point; this takes almost linear time on every shape. Every
// cycle can start exactly when no cycle is made only of inputs without
// defaults (and after: edges); otherwise the error lists the ways to fix
// it, each of which, applied alone, lets every cycle of that component
// start: single nodes' inputs when one node is enough, else the smallest
// sets of inputs that are.
package graph
