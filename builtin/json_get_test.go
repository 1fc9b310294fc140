package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestJSONGet(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": 42}, "last"}}}
	get := func(path string) map[string]any { return map[string]any{"value": doc, "path": path} }
	runValueCases(t, "json.get", []valueCase{
		{name: "deep", values: get("a.b.0.c"), want: 42},
		{name: "negative index", values: get("a.b.-1"), want: "last"},
		{name: "whole", values: get(""), want: doc},
		{name: "missing key", values: get("a.x"), wantErr: `path "a.x": "a" has no key "x"`},
		{name: "bad index", values: get("a.b.z"), wantErr: `"a.b" is a list, and "z" is not an index`},
		{name: "out of range", values: get("a.b.5"), wantErr: `index 5 out of range: "a.b" has 2 elements`},
		{name: "into a scalar", values: get("a.b.1.x"), wantErr: `"a.b.1" is string "last", not an object or a list`},
		{name: "root scalar", values: map[string]any{"value": 1, "path": "a"}, wantErr: "the value is number 1"},
		{name: "default", params: map[string]any{"missing": "default", "default": "none"}, values: get("a.x"), want: "none"},
		{name: "path not a string", values: map[string]any{"value": doc, "path": 1}, wantErr: `input "path": want a string`},
	})
	wantParamError(t, buildErr(t, "json.get", nodetest.Setup{Params: map[string]any{"missing": "skip"}}), "missing", `want one of error, default, got string "skip"`)
}
