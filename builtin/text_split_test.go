package builtin

import "testing"

func TestTextSplit(t *testing.T) {
	runValueCases(t, "text.split", []valueCase{
		{name: "white space", values: map[string]any{"s": "  hello \t world\n"}, want: []any{"hello", "world"}},
		{name: "empty", values: map[string]any{"s": ""}, want: []any{}},
		{name: "separator", values: map[string]any{"s": "a,,b", "sep": ","}, want: []any{"a", "", "b"}},
		{name: "constant separator", params: map[string]any{"sep": "-"}, values: map[string]any{"s": "a-b"}, want: []any{"a", "b"}},
		{name: "list", values: map[string]any{"s": []any{"a"}}, wantErr: `input "s": want a string, got list of 1`},
		{name: "bad separator", values: map[string]any{"s": "a", "sep": 1}, wantErr: `input "sep": want a string`},
	})
}
