package schema

import _ "embed"

//go:embed flow.schema.json
var committed []byte

// Committed returns a copy of schema/flow.schema.json, the schema generated
// from the built-in node types and committed with the source.
func Committed() []byte {
	return append([]byte(nil), committed...)
}
