// Package flowtest runs flowrun's test files: YAML files named
// *_test.yaml, next to the flows they test, whose cases run a flow with
// some of its nodes mocked and check what it did — final values, runs,
// the values nodes received and produced across runs (from the event
// log), standard output and error, and how the flow ended. `flowrun test`
// is its command; docs/testing.md describes every key.
//
// A test file is checked against schema/flowtest.schema.json, and every
// problem in it, or in a flow it names, is reported at file:line:col. A
// failed expectation is reported at the expectation's position in the
// test file, with a unified diff for long values.
//
// A mocked node is replaced by a declaration with the same inputs and
// outputs as its type (the flow is loaded and checked with the real type
// first), whose runs play the case's script; the engine needs no special
// case for it.
package flowtest
