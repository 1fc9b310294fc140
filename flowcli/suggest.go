package flowcli

import "github.com/flowrun/flowrun/internal/suggest"

// didYouMean is [suggest.DidYouMean], flowrun's one did-you-mean rule.
func didYouMean(name string, candidates []string) string {
	return suggest.DidYouMean(name, candidates)
}
