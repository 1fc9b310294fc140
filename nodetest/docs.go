package nodetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// CheckDocs reports, with t.Errorf, every problem [DocProblems] finds in
// the types of reg.
func CheckDocs(t testing.TB, reg *registry.Registry) {
	t.Helper()
	for _, p := range DocProblems(reg) {
		t.Error(p)
	}
}

// DocProblems checks that every type in reg is documented: the type, each
// input (and the variadic declaration) and each output have a Doc, and
// there is an Example (whose form [registry.Registry.Register] checked). It
// returns one message per problem, in type order.
func DocProblems(reg *registry.Registry) []string {
	var problems []string
	for _, name := range reg.Types() {
		spec, _ := reg.Lookup(name)
		report := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("type %q: ", name)+fmt.Sprintf(format, args...))
		}
		if strings.TrimSpace(spec.Doc) == "" {
			report("no Doc")
		}
		for _, in := range spec.Inputs {
			if strings.TrimSpace(in.Doc) == "" {
				report("input %q: no Doc", in.Name)
			}
		}
		if spec.Variadic != nil && strings.TrimSpace(spec.Variadic.Doc) == "" {
			report("variadic inputs: no Doc")
		}
		for _, out := range spec.Outputs {
			if strings.TrimSpace(out.Doc) == "" {
				report("output %q: no Doc", out.Name)
			}
		}
		if strings.TrimSpace(spec.Example) == "" {
			report("Example: empty")
		}
	}
	return problems
}
