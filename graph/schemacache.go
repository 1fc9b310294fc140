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
	types    string
	compiled *jsonschema.Schema
	doc      any
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
	compiled, err := schema.Compile(doc)
	if err != nil {
		return nil, err
	}
	fs := &flowSchema{types: types, compiled: compiled}
	if err := json.Unmarshal(doc, &fs.doc); err != nil {
		return nil, err
	}
	if _, loaded := schemaCache.Swap(key, fs); !loaded {
		runtime.AddCleanup(reg, func(k weak.Pointer[registry.Registry]) { schemaCache.Delete(k) }, key)
	}
	return fs, nil
}
