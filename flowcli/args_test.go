package flowcli

import (
	"strings"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	t.Parallel()
	p := &program{}
	tests := []struct {
		args, want string
	}{
		{"flowrun", "flowrun"},
		{"flowrun --help", "flowrun --help"},
		{"flowrun -v", "flowrun -v"},
		{"flowrun help run", "flowrun help run"},
		{"flowrun loop.yaml", "flowrun run loop.yaml"},
		{"flowrun loop.yml", "flowrun run loop.yml"},
		{"flowrun --max-generations 3 loop.yaml", "flowrun run --max-generations 3 loop.yaml"},
		{"flowrun loop.yaml --max-generations 3", "flowrun run --max-generations 3 loop.yaml"},
		{"flowrun run loop.yaml --print-final json --set a.x=1", "flowrun run --print-final json --set a.x=1 loop.yaml"},
		{"flowrun run loop.yaml --set=a.x=1", "flowrun run --set=a.x=1 loop.yaml"},
		{"flowrun validate a.yaml --verbose b.yaml", "flowrun validate --verbose a.yaml b.yaml"},
		{"flowrun validate a.yaml --format json", "flowrun validate --format json a.yaml"},
		{"flowrun validate a.yaml -- --odd.yaml", "flowrun validate -- a.yaml --odd.yaml"},
		{"flowrun graph x.yaml --format mermaid", "flowrun graph --format mermaid x.yaml"},
		{"flowrun lint dir", "flowrun lint dir"},
		{"flowrun frobnicate", "flowrun frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(p.normalizeArgs(p.app(), strings.Fields(tt.args)), " ")
			if got != tt.want {
				t.Errorf("normalizeArgs(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	types := []string{"math.inc", "math.mul", "text.format", "value.const"}
	tests := []struct {
		name, want string
	}{
		{"math.icn", ` (did you mean "math.inc"?)`},
		{"math.inc", ` (did you mean "math.inc"?)`},
		{"mul", ` (did you mean "math.mul"?)`},
		{"txt.format", ` (did you mean "text.format"?)`},
		{"llm.chat", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := didYouMean(tt.name, types); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := didYouMean("x", nil); got != "" {
		t.Errorf("didYouMean with no candidates = %q, want empty", got)
	}
	// A one-letter name is never "close" to another one-letter name.
	if got := didYouMean("c", []string{"a", "b"}); got != "" {
		t.Errorf(`didYouMean("c", [a b]) = %q, want empty`, got)
	}
	if got := didYouMean("aa", []string{"a", "b"}); got != ` (did you mean "a"?)` {
		t.Errorf(`didYouMean("aa", [a b]) = %q, want "a"`, got)
	}

}
