package graph

import (
	"fmt"
	"strings"

	"github.com/agnivade/levenshtein"
)

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// name, or "" when none is close enough. Ties go to the earliest candidate.
func didYouMean(name string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein.ComputeDistance(strings.ToLower(name), strings.ToLower(c))
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

// quoteList returns the names quoted and joined by ", ".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
