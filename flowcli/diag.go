package flowcli

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/flowrun/flowrun/graph"
)

// sources hands out the text of flow files for snippets: the files given
// to the loader and the subflows it read, added with put. A file that is
// not there has no snippet: diagnostics never read a file of their own,
// which could be one a flow must not see.
type sources map[string][]byte

func (s sources) put(file string, src []byte) { s[file] = src }

func (s sources) get(file string) []byte { return s[file] }

// writeDiagnostics writes one line per error, "file:line:col: msg", and
// under each, when st.snippet is set, the source line with a ">" marker
// and a "^" under the column.
func writeDiagnostics(w io.Writer, list graph.ErrorList, src sources, st style) {
	for _, e := range list {
		loc := e.Pos.String()
		if loc == "" {
			fmt.Fprintln(w, e.Msg)
		} else {
			fmt.Fprintf(w, "%s %s\n", st.paint(ansiBold, loc+":"), e.Msg)
		}
		if st.snippet {
			writeSnippet(w, e.Pos, src.get(e.Pos.File), st)
		}
	}
}

// writeSnippet writes the line before pos (for context) and pos's line,
// marked with ">", then a "^" under pos's column when it is known:
//
//	   6 |   b:
//	>  7 |     type: math.icn
//	     |           ^
func writeSnippet(w io.Writer, pos graph.Pos, src []byte, st style) {
	if !pos.IsValid() || src == nil {
		return
	}
	lines := bytes.Split(src, []byte("\n"))
	if pos.Line > len(lines) {
		return
	}
	width := len(fmt.Sprint(pos.Line))
	if pos.Line > 1 {
		prev := strings.TrimRight(string(lines[pos.Line-2]), "\r")
		fmt.Fprintf(w, "  %*d | %s\n", width, pos.Line-1, prev)
	}
	line := strings.TrimRight(string(lines[pos.Line-1]), "\r")
	fmt.Fprintf(w, "%s %*d | %s\n", st.paint(ansiRed, ">"), width, pos.Line, line)
	if pos.Col <= 0 {
		return
	}
	// Keep tabs so that the caret lines up with the text above it.
	var pad strings.Builder
	for i, r := range []rune(line) {
		if i >= pos.Col-1 {
			break
		}
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	fmt.Fprintf(w, "  %*s | %s%s\n", width, "", pad.String(), st.paint(ansiRed, "^"))
}
