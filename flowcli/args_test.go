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
