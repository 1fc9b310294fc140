// Package schema generates the JSON Schema of flow files from a node
// registry and holds the committed copy, schema/flow.schema.json, that
// editors use (yaml-language-server) and that `flowrun schema` prints.
//
// The schema checks the shape of a flow file and, for every registered
// type, which keys may appear under a node's inputs, with and defaults and
// the JSON type of each constant. [Generate] builds it, [Committed] returns
// the committed copy and [Compile] turns either into a validator.
//
// It also holds the schema of test files (*_test.yaml, run by `flowrun
// test`): [GenerateTest] builds it and schema/flowtest.schema.json, which
// [CommittedTest] returns, is its committed copy.
package schema
