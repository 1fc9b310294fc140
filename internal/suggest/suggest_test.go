package suggest

import "testing"

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	types := []string{"math.inc", "math.mul", "text.upper", "term.print"}
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"math.icn", types, "math.inc"},
		{"inc", types, "math.inc"},      // the part after the dot
		{"upper", types, "text.upper"},  // the same, for validate and explain alike
		{"Math.Inc", types, "math.inc"}, // case
		{"z", []string{"x", "y"}, "x"},  // short names: one edit, ties to the first
		{"valdate", []string{"run", "validate"}, "validate"},
		{"frobnicate", types, ""},
		{"usgae", []string{"out", "usage"}, "usage"}, // letters swapped: one typo
		{"math.inc", types, ""},                      // never itself, and math.mul is 3 edits away
		{"x", nil, ""},
	}
	for _, tt := range tests {
		got := DidYouMean(tt.name, tt.candidates)
		want := ""
		if tt.want != "" {
			want = ` (did you mean "` + tt.want + `"?)`
		}
		if got != want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tt.name, got, want)
		}
	}
}
