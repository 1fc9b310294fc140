// Package cli is the flowrun command line: it parses arguments with
// urfave/cli, loads flows, runs them with the engine, renders diagnostics
// for people (snippets and colour on terminals only) and for machines
// (JSON, GitHub annotations), owns the process's signal handling and maps
// every outcome to an exit code with [ExitCode].
//
// [Main] is the whole program; cmd/flowrun calls it and the tests in
// tests/ run it as a command.
package cli
