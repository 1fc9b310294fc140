// Package graph loads flow files: it parses the YAML, validates it against
// the JSON Schema generated from the node registry, checks its meaning
// (types, ports, bindings, cycles) and returns a [Flow] ready to run, or an
// [ErrorList] whose every entry points at file:line:col.
//
// Load is pure: it does no I/O except through the ReadFile function of
// [Options], which it uses to read subflow files. [ReadFileWithin] and
// [DefaultRoot], which build such a function, look at the file system.
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
