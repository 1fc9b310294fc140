package graph

import (
	"strings"
	"testing"
)

// FuzzInterpolate checks ${VAR} interpolation on any string: it never
// panics; an error leaves the string as it was and quotes it; a string
// without $ is unchanged; escaping every $ as $$ gives the string back
// exactly; a variable's value is inserted as it is, never interpolated
// again (so "${V}" with V="${HOME}" stays "${HOME}"), which also bounds
// the result by the input and the values it names.
func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${HOME}", "${N:-3}", "$$", "${", "${A:-${B}}", "$${X}", "${1X}", "a$",
		"${X:-}", "${HOME}/${N}", "${HOME:-${N}}", "${EMPTY:-fallback}", "$$$", "${é}", "}${",
	} {
		f.Add(s, "${HOME}")
	}
	f.Fuzz(func(t *testing.T, s, v string) {
		env := map[string]string{"HOME": "/home/x", "N": "3", "V": v}
		getenv := func(k string) string { return env[k] }
		got, err := interpolate(s, getenv)
		if err != nil {
			if got != s {
				t.Errorf("interpolate(%q) failed (%v) but returned %q, not the input", s, err, got)
			}
			if !strings.Contains(err.Error(), strings.Trim(quoteGo(s), `"`)) && !strings.Contains(err.Error(), "is not set") {
				t.Errorf("interpolate(%q): error %q does not quote the string", s, err)
			}
		} else {
			if !strings.Contains(s, "$") && got != s {
				t.Errorf("interpolate(%q) = %q, want it unchanged", s, got)
			}
			if limit := len(s) * (1 + len(v) + len("/home/x")); len(got) > limit {
				t.Errorf("interpolate(%q) is %d bytes, more than %d", s, len(got), limit)
			}
		}
		escaped := strings.ReplaceAll(s, "$", "$$")
		if back, err := interpolate(escaped, getenv); err != nil || back != s {
			t.Errorf("interpolate(%q) = %q, %v; want %q", escaped, back, err, s)
		}
		if v != "" {
			if got, err := interpolate("[${V}]", getenv); err != nil || got != "["+v+"]" {
				t.Errorf("interpolate(\"[${V}]\") with V=%q = %q, %v; want the value as it is", v, got, err)
			}
		}
	})
}

func quoteGo(s string) string { return quote(s) }
