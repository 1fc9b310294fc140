package graph

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestChunkedSameTree checks that decoding a large file in chunks gives
// exactly the tree and the errors of decoding it at once, on large flows
// with comments, block scalars, flow mappings, anchors inside one node,
// interpolation, duplicate ids in different chunks and errors, and that
// files it cannot cut (aliases across chunks, several documents) are
// decoded at once.
func TestChunkedSameTree(t *testing.T) {
	t.Parallel()
	build := func(n int, extra func(i int) string) []byte {
		var b strings.Builder
		b.WriteString("# a large flow\nversion: 1\nname: big\ndescription: |\n  many nodes\n\nnodes:\n")
		for i := range n {
			if e := extra(i); e != "" {
				b.WriteString(e)
				continue
			}
			fmt.Fprintf(&b, "  n%d:\n    type: math.inc\n    # the previous one\n    inputs: {x: n%d}\n", i, max(i-1, 0))
		}
		b.WriteString("outputs:\n  last: n1\n")
		return []byte(b.String())
	}
	cases := map[string]struct {
		src     []byte
		chunked bool
	}{
		"plain": {build(16_000, func(int) string { return "" }), true},
		"varied": {build(16_000, func(i int) string {
			switch i % 1000 {
			case 7:
				return fmt.Sprintf("  n%d: {type: text.join, with: {sep: \"${HOME:-/h}\", a: &a%d hello, b: *a%d}}\n", i, i, i)
			case 8:
				return fmt.Sprintf("  n%d:\n    type: value.const\n    with:\n      value: |\n        line one\n\n        line three\n", i)
			case 9:
				return fmt.Sprintf("  n%d: {type: math.inc, with: {x: 1}}\n  n%d: {type: math.inc, with: {x: 2}}\n", i-1000, i)
			case 10:
				return fmt.Sprintf("  \"n%d\": {type: math.inc, with: {x: \"bad\", y: [1,\n      2]}}\n", i)
			}
			return ""
		}), true},
		"alias across chunks": {build(16_000, func(i int) string {
			switch i {
			case 1:
				return "  n1: &shared {type: math.inc, with: {x: 1}}\n"
			case 15_000:
				return "  n15000: *shared\n"
			}
			return ""
		}), false},
		"two documents": {append(build(16_000, func(int) string { return "" }), "---\nnodes: {}\n"...), false},
	}
	opts := Options{Getenv: func(k string) string { return map[string]string{"HOME": "/home/x"}[k] }}
	for name, tc := range cases {
		if len(tc.src) < chunkFrom {
			t.Fatalf("%s: %d bytes, not enough to be chunked", name, len(tc.src))
		}
		_, _, chunked := parseChunked("flow.yaml", tc.src, opts, nil)
		if chunked != tc.chunked {
			t.Errorf("%s: chunked %v, want %v", name, chunked, tc.chunked)
		}
		got, gotErrs := parseYAML("flow.yaml", tc.src, opts)
		want, wantErrs := parseWhole("flow.yaml", tc.src, opts)
		if !reflect.DeepEqual(gotErrs, wantErrs) {
			t.Errorf("%s: errors\n%v\nwant\n%v", name, gotErrs, wantErrs)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the trees differ", name)
		}
		if name == "varied" && len(gotErrs) == 0 {
			t.Errorf("varied: want the duplicate ids reported")
		}
	}
}
