package registry

import "sync"

// Shared holds the objects that the nodes of one run of a flow share,
// such as the HTTP server that web.input and web.output attach to when
// they name the same address. The engine gives every run of a flow a new
// Shared in [Env].Shared, so nothing is shared between two runs (or two
// flows in one process) and nothing outlives the run: the nodes that use
// an object release it in their Close. A Shared is safe for concurrent
// use; the zero value is not usable, create one with [NewShared].
type Shared struct {
	mu sync.Mutex
	m  map[string]any
}

// NewShared returns an empty Shared.
func NewShared() *Shared { return &Shared{m: make(map[string]any)} }

// Get returns the object stored under key, calling create to make and
// store it when there is none yet. Keys are namespaced by their user,
// such as "web:127.0.0.1:8765". create is called with the Shared locked,
// so it must not call Get itself.
func (s *Shared) Get(key string, create func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v
	}
	v := create()
	s.m[key] = v
	return v
}
