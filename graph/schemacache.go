package graph

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"weak"

	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// A flowSchema is the schema generated from one registry, compiled, with
// the parsed document the error messages look things up in.
type flowSchema struct {
	types string
	// root checks a file with an empty nodes mapping; shape checks a node
	// whatever its type and byType the inputs, with and defaults of a node
	// of a registered type.
	root   *jsonschema.Schema
	shape  *jsonschema.Schema
	byType map[string]*jsonschema.Schema
	doc    any
}

// schemaCache maps a weak pointer to a registry to its *flowSchema. It is
// a cache only: an entry is rebuilt when the registry's types changed and
// dropped when the registry is garbage collected.
var schemaCache sync.Map

// schemaFor returns the compiled schema of reg's types.
func schemaFor(reg *registry.Registry) (*flowSchema, error) {
	key := weak.Make(reg)
	types := strings.Join(reg.Types(), "\n")
	if v, ok := schemaCache.Load(key); ok {
		if fs := v.(*flowSchema); fs.types == types {
			return fs, nil
		}
	}
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
	fs := &flowSchema{types: types, root: parts[0], shape: parts[1], byType: map[string]*jsonschema.Schema{}}
	for i, name := range names {
		fs.byType[name] = parts[i+2]
	}
	if err := json.Unmarshal(doc, &fs.doc); err != nil {
		return nil, err
	}
	if _, loaded := schemaCache.Swap(key, fs); !loaded {
		runtime.AddCleanup(reg, func(k weak.Pointer[registry.Registry]) { schemaCache.Delete(k) }, key)
	}
	return fs, nil
}
