package builtin

import "testing"

func TestTextLower(t *testing.T) {
	runValueCases(t, "text.lower", []valueCase{
		{name: "ascii", values: map[string]any{"s": "Hello WORLD"}, want: "hello world"},
		{name: "null", values: map[string]any{"s": nil}, wantErr: `input "s": want a string, got null`},
	})
}
