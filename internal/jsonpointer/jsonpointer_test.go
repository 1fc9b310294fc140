package jsonpointer

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"/", nil},
		{"/nodes/a", []string{"nodes", "a"}},
		{"/nodes/a~1b/with/~0x", []string{"nodes", "a/b", "with", "~x"}},
		{"/nodes/a%20b/0", []string{"nodes", "a b", "0"}},
		{"nodes/a", []string{"nodes", "a"}},
	} {
		if got := Split(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLastAndIndex(t *testing.T) {
	if got := Last(nil); got != "" {
		t.Errorf("Last(nil) = %q", got)
	}
	if got := Last([]string{"a", "b"}); got != "b" {
		t.Errorf("Last = %q, want b", got)
	}
	for seg, want := range map[string]int{"0": 0, "12": 12, "": -1, "x": -1, "-1": -1, "1234567890": -1, "999999999": 999999999} {
		if got := Index(seg); got != want {
			t.Errorf("Index(%q) = %d, want %d", seg, got, want)
		}
	}
}
