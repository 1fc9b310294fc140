package flowtest

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/diff"
)

// longValue is the length beyond which a mismatch shows a diff rather
// than only the two values on one line.
const longValue = 60

// differ describes two unequal values: both as compact JSON and, when they
// are long or span lines, a unified diff of the two texts (strings as they
// are, other values as indented JSON).
//
// The diff is go-internal's anchored ("patience") diff, the one the Go
// command uses: a well-kept library already in flowrun's dependencies,
// O(n log n) whatever the input, so an untrusted expectation cannot make
// it slow, and its unified format is what every reviewer reads.
func differ(want, got any) *mismatch {
	m := &mismatch{expected: show(want), got: show(got)}
	ws, wok := want.(string)
	gs, gok := got.(string)
	if wok && gok {
		if len(ws)+len(gs) > 2*longValue || strings.Contains(ws, "\n") || strings.Contains(gs, "\n") {
			m.diff = unified(ws, gs)
		}
		return m
	}
	if len(m.expected)+len(m.got) > 2*longValue {
		m.diff = unified(indent(want), indent(got))
	}
	if m.diff != "" {
		m.expected, m.got = clip(m.expected), clip(m.got)
	}
	return m
}

func unified(want, got string) string {
	if !strings.HasSuffix(want, "\n") || !strings.HasSuffix(got, "\n") {
		want, got = want+"\n", got+"\n"
	}
	d := string(diff.Diff("expected", []byte(want), "got", []byte(got)))
	// Drop the "diff expected got" line: the --- and +++ lines say it.
	if strings.HasPrefix(d, "diff ") {
		_, d, _ = strings.Cut(d, "\n")
	}
	return d
}

func indent(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return show(v)
	}
	return string(b) + "\n"
}

// clip shortens a one-line description that a diff follows.
func clip(s string) string {
	const n = 2 * longValue
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
