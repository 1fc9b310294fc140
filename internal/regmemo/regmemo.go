// Package regmemo lets the packages of this module keep values derived
// from a registry's types (the loader's compiled JSON Schema) with the
// registry, so that they live as long as it does and are rebuilt after a
// registration, without putting a cache in the node authors' API.
package regmemo

// Memo returns the value cached in reg (a *registry.Registry) under key,
// computing it with build when there is none or when types were
// registered since it was built. Package registry sets it when it is
// initialised, before any package that imports registry runs; nothing
// else assigns it. Use an unexported type as key.
var Memo func(reg, key any, build func() (any, error)) (any, error)
