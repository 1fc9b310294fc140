package flowtest

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// An edit replaces the expected value at val (whose key, if any, is key)
// with value.
type edit struct {
	val     *yaml.Node
	key     *yaml.Node
	inBlock bool
	value   any
	failure *Failure
}

// applyEdits rewrites the expected values in src. It finds each value's
// text from the position yaml.v3 recorded for its node and replaces only
// that text, so comments, blank lines, key order and the style of
// everything else stay as they were (a yaml.Node re-encoding would drop
// blank lines and reflow long lines). It returns the new source and how
// many values it rewrote.
func applyEdits(src []byte, edits []edit) ([]byte, int, error) {
	lines := splitLines(src)
	type span struct {
		start, end int // byte offsets
		text       string
	}
	var spans []span
	for _, e := range edits {
		start, end, err := valueSpan(src, lines, e.val, e.key)
		if err != nil {
			return nil, 0, err
		}
		keyIndent := 0
		if e.key != nil {
			keyIndent = e.key.Column - 1
		}
		block := e.inBlock && e.key != nil && e.key.Line == e.val.Line
		text := render(e.value, block, keyIndent)
		if isBlockCollection(e.val) && e.key != nil {
			// A block list or mapping starts on the line after its key:
			// replace from just after the key's colon, and keep a new
			// list or mapping in block style at the old indentation.
			if colon := afterColon(src, lines, e.key); colon >= 0 {
				start = colon
				if isNonEmptyCollection(e.value) {
					indent := e.val.Column - 1
					if _, isMap := e.value.(map[string]any); isMap && indent <= keyIndent {
						indent = keyIndent + 2 // a list may sit at its key's indent, a mapping not
					}
					text = blockText(e.value, indent)
				} else {
					text = " " + render(e.value, true, keyIndent)
				}
			}
		}
		if strings.HasPrefix(text, "\n") {
			for start > 0 && (src[start-1] == ' ' || src[start-1] == '\t') {
				start--
			}
		}
		// A comment after a value that becomes several lines goes on the
		// first line (after a block scalar's header), not into the value.
		if head, tail, multi := strings.Cut(text, "\n"); multi {
			le := lineEnd(src, lines, lineOf(lines, end))
			if rest := src[end:le]; strings.HasPrefix(strings.TrimSpace(string(rest)), "#") {
				text = head + string(rest) + "\n" + tail
				end = le
			}
		}
		if end == len(src) && strings.Contains(text, "\n") {
			text += "\n" // a block scalar's last line break is its content
		}
		spans = append(spans, span{start, end, text})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start > spans[j].start })
	out := append([]byte(nil), src...)
	last := len(out) + 1
	n := 0
	for _, s := range spans {
		if s.end > last {
			return nil, 0, fmt.Errorf("two expectations share the value at byte %d (a YAML alias?); update it by hand", s.start)
		}
		out = append(out[:s.start], append([]byte(s.text), out[s.end:]...)...)
		last = s.start
		n++
	}
	// Check that the result still parses.
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil {
		return nil, 0, fmt.Errorf("the rewritten file would not parse (%v); update it by hand:\n%s", err, out)
	}
	return out, n, nil
}

// splitLines returns the byte offset of the start of every line.
func splitLines(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the 1-based line of byte offset off.
func lineOf(lines []int, off int) int {
	return sort.Search(len(lines), func(i int) bool { return lines[i] > off })
}

// afterColon returns the offset just after the colon that follows the
// mapping key k, or -1.
func afterColon(src []byte, lines []int, k *yaml.Node) int {
	i := offset(lines, k.Line, k.Column)
	if i < len(src) && (src[i] == '"' || src[i] == '\'') {
		i = quotedEnd(src, i)
		for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		if i < len(src) && src[i] == ':' {
			return i + 1
		}
		return -1
	}
	for ; i < len(src) && src[i] != '\n'; i++ {
		if src[i] == ':' && (i+1 == len(src) || src[i+1] == ' ' || src[i+1] == '\t' || src[i+1] == '\n' || src[i+1] == '\r') {
			return i + 1
		}
	}
	return -1
}

func offset(lines []int, line, col int) int {
	if line-1 >= len(lines) {
		return lines[len(lines)-1]
	}
	return lines[line-1] + col - 1
}

func lineEnd(src []byte, lines []int, line int) int {
	if line >= len(lines) {
		return len(src)
	}
	return lines[line] - 1 // the '\n'
}

// valueSpan returns the byte range of the value's text.
func valueSpan(src []byte, lines []int, n, key *yaml.Node) (start, end int, err error) {
	start = offset(lines, n.Line, n.Column)
	if start > len(src) {
		return 0, 0, fmt.Errorf("value at line %d is outside the file", n.Line)
	}
	switch {
	case n.Kind == yaml.ScalarNode && (n.Style&(yaml.LiteralStyle|yaml.FoldedStyle)) != 0:
		return start, blockEnd(src, lines, n.Line, keyIndentOf(key), yaml.ScalarNode), nil
	case n.Kind != yaml.ScalarNode && n.Style&yaml.FlowStyle == 0:
		// A block mapping or sequence: its lines are indented at least as
		// much as its first entry (a sequence may sit at its key's indent).
		return start, blockEnd(src, lines, n.Line, n.Column-1, n.Kind), nil
	case n.Kind != yaml.ScalarNode:
		return start, flowEnd(src, start), nil
	}
	return start, scalarEnd(src, start), nil
}

func keyIndentOf(key *yaml.Node) int {
	if key == nil {
		return 0
	}
	return key.Column - 1
}

// blockEnd returns the end of a block value of the given kind starting
// on line first: the end of its last line indented more than indent, or
// as much for a mapping's keys and a sequence's "- " entries, ignoring
// trailing blank and comment lines.
func blockEnd(src []byte, lines []int, first, indent int, kind yaml.Kind) int {
	end := lineEnd(src, lines, first)
	for l := first + 1; l <= len(lines); l++ {
		s := string(src[lines[l-1]:lineEnd(src, lines, l)])
		trimmed := strings.TrimLeft(s, " ")
		ind := len(s) - len(trimmed)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if ind > indent || ind == indent && kind == yaml.MappingNode ||
			ind == indent && kind == yaml.SequenceNode && (trimmed == "-" || strings.HasPrefix(trimmed, "- ")) {
			end = lineEnd(src, lines, l)
			continue
		}
		break
	}
	return end
}

// flowEnd returns the end of a flow collection starting at start.
func flowEnd(src []byte, start int) int {
	depth := 0
	for i := start; i < len(src); i++ {
		switch c := src[i]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '"', '\'':
			i = quotedEnd(src, i) - 1
		}
	}
	return len(src)
}

// quotedEnd returns the offset after the quoted scalar starting at i.
func quotedEnd(src []byte, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case q == '"' && src[j] == '\\':
			j++
		case src[j] == q && q == '\'' && j+1 < len(src) && src[j+1] == '\'':
			j++
		case src[j] == q:
			return j + 1
		}
	}
	return len(src)
}

// scalarEnd returns the end of the scalar starting at start.
func scalarEnd(src []byte, start int) int {
	if start < len(src) && (src[start] == '"' || src[start] == '\'') {
		return quotedEnd(src, start)
	}
	for i := start; i < len(src); i++ {
		switch src[i] {
		case '\n', ',', ']', '}':
			return trimRightSpace(src, start, i)
		case '#':
			if i > start && (src[i-1] == ' ' || src[i-1] == '\t') {
				return trimRightSpace(src, start, i)
			}
		}
	}
	return trimRightSpace(src, start, len(src))
}

func trimRightSpace(src []byte, start, end int) int {
	for end > start && (src[end-1] == ' ' || src[end-1] == '\t' || src[end-1] == '\r') {
		end--
	}
	return end
}

// render writes v as YAML text to put where an expected value was: a
// plain or quoted scalar, a flow collection, or in block context a
// literal block for a multi-line string and a block list or mapping for a
// long one.
func render(v any, block bool, keyIndent int) string {
	// A string ending in several line breaks would need keep chomping
	// (|+), which also takes in the blank lines that follow it: quote it.
	// So would trailing spaces, which editors strip from lines.
	if s, ok := v.(string); ok && block && strings.Contains(s, "\n") && !strings.HasSuffix(s, "\n\n") && !trailingSpace(s) {
		return literal(s, keyIndent+2)
	}
	switch v.(type) {
	case map[string]any, []any:
		if text := flowText(v); !block || len(text) <= 2*longValue {
			return text
		}
		return blockText(v, keyIndent+2)
	}
	return flowText(v)
}

// trailingSpace reports whether a line of s ends in a space or a tab.
func trailingSpace(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return true
		}
	}
	return false
}

// literal renders s, which ends in at most one line break, as a literal
// block scalar indented by indent.
func literal(s string, indent int) string {
	chomp, body := "|-", s
	if strings.HasSuffix(s, "\n") {
		chomp, body = "|", strings.TrimSuffix(s, "\n")
	}
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		chomp += "2"
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(chomp)
	for _, line := range strings.Split(body, "\n") {
		b.WriteByte('\n')
		if line != "" {
			b.WriteString(pad + line)
		}
	}
	return b.String()
}

// flowText writes v in YAML's flow style: {a: 1, b: [x, "y, z"]}, keys
// sorted, strings plain when that reads back as the same string.
func flowText(v any) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = flowScalar(k) + ": " + flowText(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = flowText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return flowScalar(v)
	}
	return show(v)
}

// flowScalar writes a string plain when YAML reads it back as the same
// string in flow context, else double-quoted.
func flowScalar(s string) string {
	if s == "" || strings.ContainsAny(s, ",[]{}#:\"'\n\t&*!|>%@`?") || strings.TrimSpace(s) != s || strings.HasPrefix(s, "-") {
		return show(s)
	}
	var back any
	if err := yaml.Unmarshal([]byte(s), &back); err != nil || back != s {
		return show(s)
	}
	return s
}

// blockText writes a list or mapping in YAML's block style, each line
// starting with a line end and indent spaces.
func blockText(v any, indent int) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return flowText(v)
	}
	pad := strings.Repeat(" ", indent)
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		out.WriteString("\n" + pad + line)
	}
	return out.String()
}

func isBlockCollection(n *yaml.Node) bool {
	return (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0
}

func isNonEmptyCollection(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return false
}
