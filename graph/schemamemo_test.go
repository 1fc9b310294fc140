package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/registry"
)

// TestSchemaMemoSameErrors checks that the memo by shape changes no
// error: every loader test flow, every committed fuzz input and a flow
// of nodes that share shapes with valid ones but are not, checked with
// and without the memo, against the built-in types, give the same list.
func TestSchemaMemoSameErrors(t *testing.T) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	fs, err := schemaFor(reg)
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string][]byte{"mixed": []byte(`version: 1
nodes:
  a: {type: math.inc, with: {x: 1}}
  b: {type: math.inc, with: {x: "one"}}
  c: {type: math.inc, with: {x: 2.5}}
  d: {type: math.inc, with: {x: true}}
  e: {type: math.inc, with: {x: 3}}
  f: {type: math.inc, inputs: {x: a}}
  g: {type: math.inc, inputs: {x: "not a ref"}}
  h: {type: math.inc, inputs: {x: b}}
  i: {type: math.inc, inputs: {y: b}}
  j: {type: math.inc, inputs: {y: c}}
  k: {type: value.const, with: {value: {deep: [1, 2]}}}
  l: {type: value.const, with: {value: {deep: [1, "x"]}}}
  m: {type: math.compare, with: {a: 1, b: 2, op: "<"}}
  n: {type: math.compare, with: {a: 1, b: 2, op: "<>"}}
  o: {type: math.add, inputs: {a: f}, with: {b: null}}
  p: {type: math.add, inputs: {a: f}, with: {b: 1.0}}
`)}
	cases, _ := filepath.Glob("testdata/load/*.txtar")
	for _, c := range cases {
		data, _ := os.ReadFile(c)
		if _, rest, ok := strings.Cut(string(data), "-- flow.yaml --\n"); ok {
			src, _, _ := strings.Cut(rest, "\n-- ")
			srcs[c] = []byte(src)
		}
	}
	corpus, _ := filepath.Glob("testdata/fuzz/FuzzLoad/*")
	for _, c := range corpus {
		data, _ := os.ReadFile(c)
		srcs[c] = data // the fuzz file format: mostly a YAML error, harmless
	}
	checked := 0
	for name, src := range srcs {
		root, errs := parseYAML("flow.yaml", src, Options{})
		if len(errs) > 0 || root == nil {
			continue
		}
		var with, without ErrorList
		checkSchemaMemo(fs, reg, root, &with, true)
		checkSchemaMemo(fs, reg, root, &without, false)
		with, without = finish(with), finish(without)
		if with.Error() != without.Error() {
			t.Errorf("%s: with the memo:\n%v\nwithout:\n%v", name, with, without)
		}
		checked++
		if name == "mixed" && len(without) != 6 {
			t.Errorf("mixed: want an error for each bad node, got\n%v", without)
		}
	}
	t.Logf("%d flows checked", checked)
}
