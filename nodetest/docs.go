package nodetest

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

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
// input (and the variadic declaration) and each output have a Doc, and the
// Example is one node entry in YAML, "id:" mapped to a node whose type is
// the type's name, whose `inputs:`, `with:` and `defaults:` keys name inputs
// of the type (no parameter under `inputs:`), and which binds every
// required input. It returns one message per problem, in type order.
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
		for _, p := range exampleProblems(spec) {
			report("Example: %s", p)
		}
	}
	return problems
}

func exampleProblems(spec *registry.Spec) []string {
	if strings.TrimSpace(spec.Example) == "" {
		return []string{"empty"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(spec.Example), &doc); err != nil {
		return []string{fmt.Sprintf("invalid YAML: %v", err)}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		return []string{"want one node entry, \"id:\" followed by the node"}
	}
	node := doc.Content[0].Content[1]
	if node.Kind != yaml.MappingNode {
		return []string{"the node entry is not a mapping"}
	}
	var problems []string
	sections := map[string]*yaml.Node{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		sections[node.Content[i].Value] = node.Content[i+1]
	}
	if typ := sections["type"]; typ == nil || typ.Value != spec.Type {
		problems = append(problems, fmt.Sprintf("type is not %q", spec.Type))
	}
	bound := map[string]bool{}
	for _, section := range []string{"inputs", "with", "defaults"} {
		m := sections[section]
		if m == nil {
			continue
		}
		if m.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s: not a mapping", section))
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			key := m.Content[i].Value
			in, ok := spec.Input(key)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: no input %q", section, key))
			case section == "inputs" && in.Const:
				problems = append(problems, fmt.Sprintf("inputs: %q is a parameter, it belongs under with:", key))
			}
			bound[key] = true
		}
	}
	for _, in := range spec.Inputs {
		if in.Required() && !bound[in.Name] {
			problems = append(problems, fmt.Sprintf("required input %q is not bound", in.Name))
		}
	}
	return problems
}
