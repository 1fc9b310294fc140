package graph

import "github.com/flowrun/flowrun/registry"

// LoadUnstreamed is Load building the flow only once the whole file is
// read, even when it is large enough to be built as it is read (see
// loader.parseStream).
func LoadUnstreamed(filename string, src []byte, reg *registry.Registry, opts Options) (*Flow, error) {
	return load(filename, src, reg, opts, false)
}

// ChunkFrom is the size from which a file is decoded in chunks.
const ChunkFrom = chunkFrom
