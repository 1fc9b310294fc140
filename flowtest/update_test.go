package flowtest

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestApplyEdits rewrites the value at expect.final.x in files written in
// every YAML style with every kind of new value, and checks that the file
// then reads back with the new value there, the rest unchanged, the
// comments kept.
func TestApplyEdits(t *testing.T) {
	layouts := map[string]string{
		"plain":        "expect:\n  final:\n    x: 1   # keep\n    y: 2\n",
		"double":       "expect:\n  final:\n    x: \"a, b\"   # keep\n    y: 2\n",
		"single":       "expect:\n  final:\n    x: 'it''s'   # keep\n    y: 2\n",
		"flow map":     "expect:\n  final: {x: 1, y: 2}   # keep\n",
		"flow list":    "expect:\n  final:\n    x: [1, \"2, 3\", {a: b}]   # keep\n    y: 2\n",
		"block list":   "expect:\n  final:\n    x:\n      - 1\n      - [2]\n    # keep\n    y: 2\n",
		"compact list": "expect:\n  final:\n    x:\n    - 1\n    - 2\n    y: 2   # keep\n",
		"block map":    "expect:\n  final:\n    x:\n      a: 1\n      b:\n        c: 2\n\n    # keep\n    y: 2\n",
		"literal":      "expect:\n  final:\n    x: |\n      line 1\n\n      line 2\n    y: 2   # keep\n",
		"folded":       "expect:\n  final:\n    x: >-\n      folded\n      text\n    y: 2   # keep\n",
		"last":         "expect:\n  final:\n    y: 2   # keep\n    x: old",
		"quoted key":   "expect:\n  final:\n    \"x\":\n      - 1\n    'y': 2   # keep\n",
		"crowded":      "expect:\n  final:\n    x: 1 #keep\n    y: 2\n",
	}
	values := map[string]any{
		"number":       42.5,
		"null":         nil,
		"bool":         true,
		"word":         "word",
		"tricky":       "a: b, [c] # d",
		"yes":          "yes",
		"number text":  "12",
		"lines":        "one\ntwo\n",
		"lines no end": "one\n  two",
		"blank lines":  "one\n\n",
		"leading":      "  indented\nnext\n",
		"trailing":     "> Hello\n> ",
		"list":         []any{1.0, "two", map[string]any{"k": "v"}},
		"long list":    []any{strings.Repeat("long ", 20), strings.Repeat("longer ", 20)},
		"map":          map[string]any{"a": []any{}, "b": map[string]any{}},
		"empty list":   []any{},
		"empty string": "",
	}
	for lname, src := range layouts {
		for vname, v := range values {
			t.Run(lname+"/"+vname, func(t *testing.T) {
				var root yaml.Node
				if err := yaml.Unmarshal([]byte(src), &root); err != nil {
					t.Fatal(err)
				}
				final, _ := get(root.Content[0], "expect")
				final, _ = get(final, "final")
				val, key := get(final, "x")
				e := edit{val: val, key: key, inBlock: final.Style&yaml.FlowStyle == 0, value: v}
				out, n, err := applyEdits([]byte(src), []edit{e})
				if err != nil {
					t.Fatalf("applyEdits: %v\n%s", err, src)
				}
				if n != 1 {
					t.Fatalf("rewrote %d values, want 1", n)
				}
				var back map[string]any
				if err := yaml.Unmarshal(out, &back); err != nil {
					t.Fatalf("result does not parse: %v\n%s", err, out)
				}
				got := back["expect"].(map[string]any)["final"].(map[string]any)
				if !reflect.DeepEqual(norm(got["x"]), norm(v)) {
					t.Errorf("x reads back as %#v, want %#v\n%s", got["x"], v, out)
				}
				if got["y"] != 2 {
					t.Errorf("y changed to %#v\n%s", got["y"], out)
				}
				if !strings.Contains(string(out), "keep") {
					t.Errorf("the comment is gone:\n%s", out)
				}
			})
		}
	}
}
