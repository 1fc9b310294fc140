package flowcli

import (
	"fmt"
	"strings"

	"github.com/agnivade/levenshtein"
)

// didYouMean returns ` (did you mean "x"?)` naming the candidate closest to
// name, or "" when none is close: within an edit distance of a third of
// the name (at least 1) and smaller than the name's length, or equal to the
// part of a dotted candidate after its last dot ("inc" for "math.inc").
func didYouMean(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(name, c)
		if i := strings.LastIndexByte(c, '.'); i >= 0 && c[i+1:] == name {
			d = 1
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(1, len(name)/3) || bestDist >= len(name) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
