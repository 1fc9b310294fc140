package builtin

import "testing"

func TestLogicNot(t *testing.T) {
	runValueCases(t, "logic.not", []valueCase{
		{name: "true", values: map[string]any{"x": true}, want: false},
		{name: "false", values: map[string]any{"x": false}, want: true},
		{name: "number", values: map[string]any{"x": 0}, wantErr: `input "x": want a boolean, got number 0`},
	})
}
