package builtin

import "testing"

func TestTextUpper(t *testing.T) {
	runValueCases(t, "text.upper", []valueCase{
		{name: "ascii", values: map[string]any{"s": "hello World"}, want: "HELLO WORLD"},
		{name: "unicode", values: map[string]any{"s": "café"}, want: "CAFÉ"},
		{name: "number", values: map[string]any{"s": 1}, wantErr: `input "s": want a string, got number 1`},
	})
}
