package registry

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// exampleProblems checks spec.Example: one node entry in YAML, "id:"
// mapped to a node whose type is the type's name, whose `inputs:`, `with:`
// and `defaults:` keys name inputs of the type (no parameter under
// `inputs:`), and which binds every required input. It returns one message
// per problem.
func exampleProblems(spec *Spec) []string {
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
