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
	parts, err := CompileParts(doc, "")
	if err != nil {
		return nil, err
	}
	return parts[0], nil
}

// CompileParts compiles doc like [Compile] and returns the schemas at the
// given fragments of it, such as [NodeShapeRef] or [TypeRef]("math.inc");
// the fragment "" is the whole document.
func CompileParts(doc []byte, fragments ...string) ([]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema: refusing to load %q: a flow schema is self-contained", s)
	}
	if err := c.AddResource(resourceURL, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out := make([]*jsonschema.Schema, len(fragments))
	for i, frag := range fragments {
		s, err := c.Compile(resourceURL + frag)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		out[i] = s
	}
	return out, nil
}
