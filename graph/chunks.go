package graph

import (
	"bytes"
	"errors"
	"io"
	"strings"

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
// once the file without its node entries is converted (from 0, nodes
// empty), then after each chunk, with the index of the chunk's first
// entry in nodes and whether errors were found so far; it may let the
// trees of those entries go (see loader.parseStream).
func parseChunked(file string, src []byte, opts Options, each func(root, nodes *tree, from int, failed bool)) (root *tree, errs ErrorList, ok bool) {
	lines := splitLines(src)
	nodesAt := -1
	for i := range lines.count() {
		s := string(bytes.TrimRight(lines.line(i), "\r\n"))
		if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") || strings.HasPrefix(s, "%") {
			return nil, nil, false
		}
		if nodesAt < 0 && strings.TrimRight(s, " ") == "nodes:" {
			nodesAt = i
		}
	}
	if nodesAt < 0 {
		return nil, nil, false
	}
	// The region of the nodes mapping, its indentation and where each
	// entry starts.
	indent, end := -1, lines.count()
	var starts []int
	for i := nodesAt + 1; i < lines.count(); i++ {
		s := string(bytes.TrimRight(lines.line(i), "\r\n"))
		body := strings.TrimLeft(s, " ")
		if body == "" || body[0] == '#' {
			continue
		}
		if body[0] == '\t' {
			return nil, nil, false
		}
		d := len(s) - len(body)
		switch {
		case d == 0:
			end = i
		case indent < 0:
			if body[0] == '-' {
				return nil, nil, false
			}
			indent = d
			starts = append(starts, i)
		case d == indent:
			starts = append(starts, i)
		case d < indent:
			return nil, nil, false
		}
		if end == i {
			break
		}
	}
	if len(starts) < 2 {
		return nil, nil, false
	}

	// The file without the entries, with its lines where they were.
	var skel bytes.Buffer
	for i := range lines.count() {
		switch {
		case i == nodesAt:
			skel.WriteString("nodes: {}\n")
		case i > nodesAt && i < end:
			skel.WriteByte('\n')
		default:
			skel.Write(lines.line(i))
		}
	}
	doc, err := decodeOne(skel.Bytes())
	if err != nil {
		return nil, nil, false
	}
	c := newConverter(file, src, opts, &errs)
	root = c.convert(doc, false, 0)
	nodes := root.get("nodes")
	if nodes == nil || nodes.kind != mapKind || len(nodes.keys) > 0 {
		return nil, nil, false
	}
	nodes.pos = Pos{File: file, Line: starts[0] + 1, Col: indent + 1}
	// Room for every entry, rather than growing the lists chunk by chunk.
	nodes.keys = make([]string, 0, len(starts))
	nodes.keyPos = make([]Pos, 0, len(starts))
	nodes.kids = make([]*tree, 0, len(starts))
	nodes.index = make(map[string]int, len(starts))
	if each != nil {
		each(root, nodes, 0, len(errs) > 0)
	}

	for k := 0; k < len(starts); k += chunkEntries {
		from := starts[k]
		to := end
		if k+chunkEntries < len(starts) {
			to = starts[k+chunkEntries]
		}
		var chunk bytes.Buffer
		chunk.WriteString("nodes:\n")
		chunk.Write(lines.span(from, to))
		doc, err := decodeOne(chunk.Bytes())
		if err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
			return nil, nil, false
		}
		m := doc.Content[0].Content[1]
		if m.Kind != yaml.MappingNode || m.Anchor != "" || m.Tag != "!!map" {
			return nil, nil, false
		}
		c.lineOffset = from - 1 // chunk line 2 is file line from+1
		c.path = append(c.path[:0], "nodes")
		first := len(nodes.keys)
		c.mappingInto(nodes, m, false, 1)
		c.path = c.path[:0]
		c.lineOffset = 0
		if each != nil {
			each(root, nodes, first, len(errs) > 0)
		}
	}
	return root, errs, true
}

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

// fileLines holds where each line of a file starts, as
// bytes.SplitAfter(src, "\n") would cut it (the last line may be empty):
// 8 bytes per line rather than a 24-byte slice.
type fileLines struct {
	src []byte
	at  []int // at[i] is where line i starts; at[count()] is len(src)
}

func splitLines(src []byte) fileLines {
	at := make([]int, 1, bytes.Count(src, []byte("\n"))+2)
	for i, c := range src {
		if c == '\n' {
			at = append(at, i+1)
		}
	}
	return fileLines{src: src, at: append(at, len(src))}
}

// count returns the number of lines.
func (ls fileLines) count() int { return len(ls.at) - 1 }

// line returns line i with its newline.
func (ls fileLines) line(i int) []byte { return ls.src[ls.at[i]:ls.at[i+1]] }

// span returns lines from to to-1 with their newlines.
func (ls fileLines) span(from, to int) []byte { return ls.src[ls.at[from]:ls.at[to]] }
