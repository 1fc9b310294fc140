package builtin

import "testing"

func TestJSONParse(t *testing.T) {
	runValueCases(t, "json.parse", []valueCase{
		{name: "object", values: map[string]any{"s": `{"a": [1, 2.5, "x", null, true]}`}, want: map[string]any{"a": []any{1, 2.5, "x", nil, true}}},
		{name: "big integer", values: map[string]any{"s": `123456789012345678901234`}, want: 1.2345678901234568e23},
		{name: "space around", values: map[string]any{"s": " 7 \n"}, want: 7},
		{name: "syntax error", values: map[string]any{"s": `{"a": }`}, wantErr: "invalid JSON at byte 7"},
		{name: "trailing data", values: map[string]any{"s": `1 2`}, wantErr: "invalid JSON at byte 3: unexpected data after the value"},
		{name: "truncated", values: map[string]any{"s": `[1,`}, wantErr: "unexpected end of input"},
		{name: "empty", values: map[string]any{"s": ""}, wantErr: "unexpected end of input"},
		{name: "not a string", values: map[string]any{"s": 1}, wantErr: `input "s": want a string`},
	})
}
