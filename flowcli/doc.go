// Package flowcli is the flowrun command line as a library: it parses
// arguments with urfave/cli, loads flows, runs them with the engine,
// renders diagnostics for people (snippets and colour on terminals only)
// and for machines (JSON, GitHub annotations), owns the process's signal
// handling and maps every outcome to an exit code with [ExitCode].
//
// [Main] is the whole program over a given node registry. cmd/flowrun
// calls it with the built-in node types, the tests in tests/ run it as a
// command, and a program with node types of its own calls it with a
// registry holding them, to ship a flowrun that knows them.
package flowcli
