// Package builtin holds flowrun's built-in node types. [Register] adds them
// all to a registry.
package builtin

import "github.com/flowrun/flowrun/registry"

// Register adds every built-in node type to reg.
func Register(reg *registry.Registry) error {
	return nil
}
