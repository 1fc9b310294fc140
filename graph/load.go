package graph

import "github.com/flowrun/flowrun/registry"

// Options tune loading.
type Options struct {
	// Getenv resolves ${VAR} and ${VAR:-fallback} in string constants;
	// nil means no variable is set.
	Getenv func(string) string
	// Set overrides constants: each entry is "node.input=value", the value
	// written in YAML syntax (a bare word is a string).
	Set []string
	// ReadFile reads subflow files; nil makes subflows an error.
	ReadFile func(path string) ([]byte, error)
}

// Load parses and checks the flow in src, read from filename. On failure
// the error is an [ErrorList].
func Load(filename string, src []byte, reg *registry.Registry, opts Options) (*Flow, error) {
	panic("not yet implemented")
}
