package schema

import (
	"bytes"
	"fmt"
	"io"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// resourceURL names the schema inside the compiler; nothing is ever read
// from it, the document is added as a resource.
const resourceURL = "file:///flow.schema.json"

// Compile compiles a flow schema such as the one [Generate] returns or
// [Committed]. It checks doc against the draft-07 metaschema and never
// loads anything: a $ref to another document is an error. It does not
// touch the package-level loaders of jsonschema.
func Compile(doc []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema: refusing to load %q: a flow schema is self-contained", s)
	}
	if err := c.AddResource(resourceURL, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := c.Compile(resourceURL)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return s, nil
}
