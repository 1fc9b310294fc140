package graph

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"
)

// A yaml.Node costs about 150 bytes, so the yaml.Node tree of a large flow
// is several times the size of the file and, decoded at once, it was
// most of the peak memory of loading one (140 MB for a 100,000-node
// chain of 5 MB). A large file whose nodes: mapping is written in block
// style is therefore decoded in chunks: the file with that mapping left
// empty, then the mapping's entries a few thousand at a time, each
// converted and dropped before the next is decoded. The result is the
// same tree, with the same positions. Whenever a chunk does not decode
// on its own (an alias to an anchor in another chunk, a flow collection
// cut in two, anything unusual) the whole file is decoded at once
// instead, which also gives yaml.v3's own message for a syntax error.

const (
	chunkFrom    = 1 << 20 // files at least this large are decoded in chunks
	chunkEntries = 2000    // node entries per chunk
)

// parseChunked returns the tree of src decoded in chunks, or ok false
// when src is not suited (see above). Unless each is nil, it is called
// once the file without its node entries is converted (nodes empty),
// then after each chunk, with the number of entries of the whole mapping
// and whether errors were found so far; nodes then holds the chunk's
// entries only (the tree returned has no node entries), and each may let
// their trees go (see loader.parseStream).
func parseChunked(file string, src []byte, opts Options, each func(root, nodes *tree, total int, failed bool)) (root *tree, errs ErrorList, ok bool) {
	// One pass over the lines: the nodes: line, the region of its mapping
	// (from the line after it to end), its indentation and where each
	// entry starts.
	nodesAt, nodesOff, end, endOff, indent := -1, 0, -1, len(src), -1
	var starts []chunkStart
	line := 0
	for off := 0; off < len(src); line++ {
		n := bytes.IndexByte(src[off:], '\n') + 1
		if n == 0 {
			n = len(src) - off
		}
		s := bytes.TrimRight(src[off:off+n], "\r\n")
		if bytes.HasPrefix(s, []byte("---")) || bytes.HasPrefix(s, []byte("...")) || bytes.HasPrefix(s, []byte("%")) {
			return nil, nil, false
		}
		switch {
		case nodesAt < 0:
			if string(bytes.TrimRight(s, " ")) == "nodes:" {
				nodesAt, nodesOff = line, off
			}
		case end < 0:
			body := bytes.TrimLeft(s, " ")
			if len(body) == 0 || body[0] == '#' {
				break
			}
			if body[0] == '\t' {
				return nil, nil, false
			}
			d := len(s) - len(body)
			switch {
			case d == 0:
				end, endOff = line, off
			case indent < 0:
				if body[0] == '-' {
					return nil, nil, false
				}
				indent = d
				starts = append(starts, chunkStart{line, off})
			case d == indent:
				starts = append(starts, chunkStart{line, off})
			case d < indent:
				return nil, nil, false
			}
		}
		off += n
	}
	if end < 0 {
		end = line
	}
	if len(starts) < 2 {
		return nil, nil, false
	}

	// The file without the entries, with its lines where they were.
	skel := make([]byte, 0, nodesOff+len("nodes: {}\n")+end-nodesAt-1+len(src)-endOff)
	skel = append(skel, src[:nodesOff]...)
	skel = append(skel, "nodes: {}\n"...)
	for range end - nodesAt - 1 {
		skel = append(skel, '\n')
	}
	skel = append(skel, src[endOff:]...)
	doc, err := decodeOne(skel)
	if err != nil {
		return nil, nil, false
	}
	c := newConverter(file, src, opts, &errs)
	root = c.convert(doc, false, 0)
	nodes := root.get("nodes")
	if nodes == nil || nodes.kind != mapKind || len(nodes.keys) > 0 {
		return nil, nil, false
	}
	nodes.pos = Pos{File: file, Line: starts[0].line + 1, Col: indent + 1}
	// Room for every entry (or, with each, those of a chunk), rather than
	// growing the lists chunk by chunk.
	room := len(starts)
	if each != nil {
		room = min(room, chunkEntries)
		c.earlier = make(map[string][2]int32, len(starts))
	}
	nodes.keys = make([]string, 0, room)
	nodes.keyPos = make([]Pos, 0, room)
	nodes.kids = make([]*tree, 0, room)
	nodes.index = make(map[string]int, room)
	if each != nil {
		each(root, nodes, len(starts), len(errs) > 0)
	}

	var chunk []byte
	for k := 0; k < len(starts); k += chunkEntries {
		from, to := starts[k], chunkStart{end, endOff}
		if k+chunkEntries < len(starts) {
			to = starts[k+chunkEntries]
		}
		chunk = append(append(chunk[:0], "nodes:\n"...), src[from.off:to.off]...)
		doc, err := decodeOne(chunk)
		if err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
			return nil, nil, false
		}
		m := doc.Content[0].Content[1]
		if m.Kind != yaml.MappingNode || m.Anchor != "" || m.Tag != "!!map" {
			return nil, nil, false
		}
		c.lineOffset = from.line - 1 // chunk line 2 is file line from.line+1
		c.path = append(c.path[:0], "nodes")
		c.mappingInto(nodes, m, false, 1)
		c.path = c.path[:0]
		c.lineOffset = 0
		if each == nil {
			continue
		}
		each(root, nodes, len(starts), len(errs) > 0)
		// The next chunk's entries replace these; their ids stay known,
		// to report a duplicate.
		for i, id := range nodes.keys {
			c.earlier[id] = [2]int32{int32(nodes.keyPos[i].Line), int32(nodes.keyPos[i].Col)}
		}
		clear(nodes.kids)
		nodes.keys, nodes.keyPos, nodes.kids = nodes.keys[:0], nodes.keyPos[:0], nodes.kids[:0]
		clear(nodes.index)
	}
	return root, errs, true
}

// A chunkStart is where a node entry starts: its line (from 0) and the
// offset of that line in the file.
type chunkStart struct{ line, off int }

// decodeOne decodes a document that must be alone in src.
func decodeOne(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a single document")
	}
	return &doc, nil
}
