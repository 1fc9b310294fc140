package schema

import _ "embed"

//go:embed flow.schema.json
var committed []byte

//go:embed flowtest.schema.json
var committedTest []byte

// Committed returns a copy of schema/flow.schema.json, the schema generated
// from the built-in node types and committed with the source.
func Committed() []byte {
	return append([]byte(nil), committed...)
}

// CommittedTest returns a copy of schema/flowtest.schema.json, the schema
// of test files that [GenerateTest] returns, committed with the source.
func CommittedTest() []byte {
	return append([]byte(nil), committedTest...)
}
