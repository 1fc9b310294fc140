// Package suggest holds flowrun's one did-you-mean rule, used by the
// loader, the CLI and the test runner alike.
package suggest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// DidYouMean returns ` (did you mean "x"?)` naming the candidate closest to
// name, or "" when none is close enough. Closeness is the edit distance,
// ignoring case; a dotted candidate whose last part is name ("math.inc"
// for "inc") and a candidate with the same letters in another order
// ("usage" for "usgae") are at distance 1. The closest candidate is close enough within
// a third of the shorter of the two lengths (at least 1), or when it
// differs from name only in case. Ties go to the earliest candidate, and
// name itself is never suggested.
func DidYouMean(name string, candidates []string) string {
	best, bestDist := "", 0
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein.ComputeDistance(lower, strings.ToLower(c))
		if i := strings.LastIndexByte(c, '.'); i >= 0 && c[i+1:] == name {
			d = min(d, 1)
		}
		if sameLetters(lower, strings.ToLower(c)) {
			d = min(d, 1)
		}
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	limit := max(1, min(len(name), len(best))/3)
	if bestDist > limit && !strings.EqualFold(name, best) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// sameLetters reports whether a and b are the same letters in another
// order.
func sameLetters(a, b string) bool {
	if len(a) != len(b) || a == b {
		return false
	}
	ra, rb := []rune(a), []rune(b)
	slices.Sort(ra)
	slices.Sort(rb)
	return slices.Equal(ra, rb)
}
