package graph

import (
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/internal/suggest"
)

// quoteList returns the names quoted and joined by ", ".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// didYouMean is [suggest.DidYouMean], flowrun's one did-you-mean rule.
func didYouMean(name string, candidates []string) string {
	return suggest.DidYouMean(name, candidates)
}
