package graph

import (
	"encoding/json"

	"github.com/flowrun/flowrun/internal/regmemo"
	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// A flowSchema is the schema generated from one registry, compiled, with
// the parsed document the error messages look things up in.
type flowSchema struct {
	// root checks a file with an empty nodes mapping; shape checks a node
	// whatever its type and byType the inputs, with and defaults of a node
	// of a registered type.
	root   *jsonschema.Schema
	shape  *jsonschema.Schema
	byType map[string]*jsonschema.Schema
	doc    any
	// shapes says which values each type's schema checks only by type or
	// by the connection pattern (see schemamemo.go).
	shapes map[string]*typeShape
}

// schemaMemo is the key of the compiled schema in a registry's memo.
type schemaMemo struct{}

// schemaFor returns the compiled schema of reg's types, built once per
// registry (and again after types were registered).
func schemaFor(reg *registry.Registry) (*flowSchema, error) {
	v, err := regmemo.Memo(reg, schemaMemo{}, func() (any, error) { return buildSchema(reg) })
	if err != nil {
		return nil, err
	}
	return v.(*flowSchema), nil
}

func buildSchema(reg *registry.Registry) (*flowSchema, error) {
	doc, err := schema.Generate(reg)
	if err != nil {
		return nil, err
	}
	names := reg.Types()
	frags := []string{"", schema.NodeShapeRef}
	for _, name := range names {
		frags = append(frags, schema.TypeRef(name))
	}
	parts, err := schema.CompileParts(doc, frags...)
	if err != nil {
		return nil, err
	}
	fs := &flowSchema{root: parts[0], shape: parts[1], byType: map[string]*jsonschema.Schema{}}
	for i, name := range names {
		fs.byType[name] = parts[i+2]
	}
	if err := json.Unmarshal(doc, &fs.doc); err != nil {
		return nil, err
	}
	fs.shapes = shapesFrom(fs.doc)
	return fs, nil
}
