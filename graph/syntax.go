package graph

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses src, the contents of file, and converts it to a tree.
// Syntax errors keep yaml.v3's text; they carry a line but no column.
func parseYAML(file string, src []byte, opts Options) (*tree, ErrorList) {
	if len(src) >= chunkFrom {
		if root, errs, ok := parseChunked(file, src, opts, nil); ok {
			return root, errs
		}
	}
	return parseWhole(file, src, opts)
}

// parseWhole is parseYAML decoding the whole file at once.
func parseWhole(file string, src []byte, opts Options) (*tree, ErrorList) {
	var errs ErrorList
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.Add(Pos{File: file, Line: 1, Col: 1}, "the file is empty: a flow needs at least a nodes: mapping")
			return nil, errs
		}
		errs = append(errs, syntaxError(file, src, err))
		return nil, errs
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		errs.Add(Pos{File: file, Line: min(extra.Line, lineCount(src)), Col: extra.Column}, "a flow file holds a single YAML document: remove this --- and what follows")
	case !errors.Is(err, io.EOF):
		errs = append(errs, syntaxError(file, src, err))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c := newConverter(file, src, opts, &errs)
	root := c.convert(&doc, false, 0)
	return root, errs
}

// syntaxError turns a yaml.v3 error into an Error at its line.
func syntaxError(file string, src []byte, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		line = min(max(line, 1), lineCount(src))
		return &Error{Pos: Pos{File: file, Line: line}, Msg: m[2]}
	}
	return &Error{Pos: Pos{File: file}, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// lineCount is the number of lines of src, counting a last line without a
// newline, and at least 1.
func lineCount(src []byte) int {
	return bytes.Count(src, []byte("\n")) + 1
}
