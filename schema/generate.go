package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

// Patterns of the names and strings a flow file contains. The loader and
// the schema share them.
const (
	// NodeIDPattern matches node ids: letters, digits, "_" and "-", not
	// starting with a digit or "-". Ids have no dots, since "node.output"
	// uses one.
	NodeIDPattern = `^[A-Za-z_][A-Za-z0-9_-]*$`
	// InputNamePattern matches input and output names, including the
	// inputs and outputs a subflow file declares.
	InputNamePattern = `^[a-z][a-z0-9_]*$`
	// RefPattern matches a reference: "node", "node.output", or "$name"
	// (an input of the enclosing subflow).
	RefPattern = `^(\$[a-z][a-z0-9_]*|[A-Za-z_][A-Za-z0-9_-]*(\.[a-z][a-z0-9_]*)?)$`
	// SubflowPattern matches a node type that is a path to a subflow file.
	SubflowPattern = `\.ya?ml$`
	// DurationPattern matches a Go duration such as "100ms" or "1m30s".
	DurationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
)

// Draft is the JSON Schema dialect of the generated schema.
const Draft = "http://json-schema.org/draft-07/schema#"

// obj is a JSON object under construction; encoding/json sorts its keys,
// which makes the output deterministic.
type obj = map[string]any

// Generate returns the JSON Schema of flow files whose node types are those
// registered in reg: draft-07, indented, deterministic, ending in a newline.
// For every registered type it checks the keys allowed under a node's
// inputs, with and defaults (any name for a variadic type) and the JSON type
// or enum of every constant; a type that is a path to a .yaml or .yml file
// (a subflow) is accepted with any inputs. Descriptions come from the
// types' docs so that editors can show them.
func Generate(reg *registry.Registry) ([]byte, error) {
	doc := document(reg)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return buf.Bytes(), nil
}

func document(reg *registry.Registry) obj {
	defs := obj{
		"node_id":    obj{"type": "string", "pattern": NodeIDPattern, "description": "The id of a node of this flow."},
		"reference":  refSchema("A connection: \"node\" (its first output), \"node.output\", or \"$input\" inside a subflow."),
		"duration":   obj{"type": "string", "pattern": DurationPattern, "description": "A duration such as 100ms, 2s or 1m30s."},
		"flow_input": flowInputSchema(),
		"nodes": obj{
			"type":                 "object",
			"description":          "The nodes of the flow, by id. Order does not change meaning.",
			"propertyNames":        obj{"$ref": "#/definitions/node_id"},
			"additionalProperties": obj{"$ref": "#/definitions/node"},
		},
		"node":       nodeSchema(reg),
		"node_shape": nodeShape(reg),
	}
	for _, name := range reg.Types() {
		spec, _ := reg.Lookup(name)
		defs[typeDefName(name)] = typeSchema(spec)
	}
	return obj{
		"$schema":              Draft,
		"title":                "flowrun flow",
		"description":          "A flowrun flow file: a dataflow graph of typed nodes. See docs/flow-format.md.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"nodes"},
		"properties": obj{
			"version":     obj{"const": 1, "description": "The version of the flow file format; 1 is the only one."},
			"name":        obj{"type": "string", "description": "The flow's name; the file name without extension by default."},
			"description": obj{"type": "string", "description": "What the flow does."},
			"inputs": obj{
				"type":                 "object",
				"description":          "The inputs of this flow when another flow uses it as a subflow; nodes read them as \"$name\" under inputs.",
				"propertyNames":        obj{"pattern": InputNamePattern},
				"additionalProperties": obj{"$ref": "#/definitions/flow_input"},
			},
			"outputs": obj{
				"type":                 "object",
				"description":          "The outputs of this flow when another flow uses it as a subflow: name to reference.",
				"propertyNames":        obj{"pattern": InputNamePattern},
				"additionalProperties": obj{"$ref": "#/definitions/reference"},
			},
			"nodes": obj{"$ref": "#/definitions/nodes"},
		},
		"definitions": defs,
	}
}

func refSchema(desc string) obj {
	return obj{"type": "string", "pattern": RefPattern, "description": desc}
}

func flowInputSchema() obj {
	return obj{
		"type":                 []string{"object", "null"},
		"description":          "An input of this flow used as a subflow.",
		"additionalProperties": false,
		"properties": obj{
			"type": obj{
				"enum":        []string{"any", "string", "number", "integer", "boolean", "array", "object"},
				"description": "The JSON type of the input; any by default.",
			},
			"default": obj{"description": "The value used when the node that uses the subflow does not bind the input; it also starts cycles through the subflow."},
			"doc":     obj{"type": "string", "description": "One sentence on what the input is for."},
		},
	}
}

// Fragments of the generated schema that can be compiled on their own:
// the loader checks each node against NodeShapeRef and against the
// [TypeRef] of its type, which is the same as checking it against the
// node definition but does not try every type in turn.
const (
	NodeShapeRef = "#/definitions/node_shape"
	NodesRef     = "#/definitions/nodes"
)

// TypeRef returns the fragment of the schema that checks the inputs, with
// and defaults of a node of type typ.
func TypeRef(typ string) string { return "#/definitions/" + typeDefName(typ) }

// nodeSchema is a node: its shape, and for each type the keys allowed
// under inputs, with and defaults.
func nodeSchema(reg *registry.Registry) obj {
	conds := []any{obj{"$ref": NodeShapeRef}}
	for _, name := range reg.Types() {
		conds = append(conds, obj{
			"if":   obj{"required": []string{"type"}, "properties": obj{"type": obj{"const": name}}},
			"then": obj{"$ref": TypeRef(name)},
		})
	}
	return obj{
		"description": "A node: its type and how each input gets its value.",
		"allOf":       conds,
	}
}

// nodeShape checks the keys of a node, whatever its type.
func nodeShape(reg *registry.Registry) obj {
	var alts []any
	if types := reg.Types(); len(types) > 0 {
		docs := make([]string, len(types))
		for i, name := range types {
			spec, _ := reg.Lookup(name)
			docs[i] = spec.Doc
		}
		alts = append(alts, obj{"enum": types, "enumDescriptions": docs, "description": "A registered node type."})
	}
	alts = append(alts, obj{"pattern": SubflowPattern, "description": "A subflow: the path of another flow file, relative to this one."})
	return obj{
		"type":                 "object",
		"description":          "A node: its type and how each input gets its value.",
		"required":             []string{"type"},
		"additionalProperties": false,
		"properties": obj{
			"type": obj{
				"type":        "string",
				"description": "A registered node type (see `flowrun nodes`) or the path of a subflow file ending in .yaml.",
				"anyOf":       alts,
			},
			"description": obj{"type": "string", "description": "What the node is for."},
			"inputs": obj{
				"type":                 "object",
				"description":          "Connections: input name to \"node\" or \"node.output\". Always references, never literals.",
				"propertyNames":        obj{"pattern": InputNamePattern},
				"additionalProperties": obj{"$ref": "#/definitions/reference"},
			},
			"with": obj{
				"type":          "object",
				"description":   "Constants: input name to a literal value. ${VAR} and ${VAR:-fallback} in strings read the environment.",
				"propertyNames": obj{"pattern": InputNamePattern},
			},
			"defaults": obj{
				"type":          "object",
				"description":   "Defaults: input name to the value used when the input has no data yet; defaults start cycles.",
				"propertyNames": obj{"pattern": InputNamePattern},
			},
			"after": obj{
				"type":        "array",
				"description": "Ordering-only dependencies: each run waits for a fresh run of these nodes, without data.",
				"items":       obj{"$ref": "#/definitions/node_id"},
			},
			"on_error": obj{
				"enum":        []string{"fail", "continue"},
				"description": "fail (default) ends the flow when a run fails; continue reports the error and goes on.",
			},
			"retry": obj{
				"type":                 "object",
				"description":          "Retry a failed run before applying on_error.",
				"additionalProperties": false,
				"properties": obj{
					"attempts":  obj{"type": "integer", "minimum": 1, "description": "Total number of attempts (default 3)."},
					"delay":     obj{"$ref": "#/definitions/duration"},
					"max_delay": obj{"$ref": "#/definitions/duration"},
				},
			},
			"max_generations": obj{"type": "integer", "minimum": 0, "description": "Stop the node after this many runs (0: no limit)."},
		},
	}
}

func typeDefName(typ string) string { return "type:" + typ }

func typeSchema(spec *registry.Spec) obj {
	conns, consts := obj{}, obj{}
	for _, in := range spec.Inputs {
		consts[in.Name] = valueSchema(in)
		if in.Const {
			conns[in.Name] = obj{
				"type":        "string",
				"pattern":     `^\$[a-z][a-z0-9_]*$`,
				"description": describe(in) + " Only a subflow input ($name) bound to a constant may be connected here.",
			}
			continue
		}
		conns[in.Name] = refSchema(describe(in))
	}
	inputs := obj{"properties": conns, "additionalProperties": false}
	with := obj{"properties": consts, "additionalProperties": false}
	defaults := obj{"properties": consts, "additionalProperties": false}
	if v := spec.Variadic; v != nil {
		if !v.Const {
			inputs["additionalProperties"] = refSchema(describe(*v))
		}
		with["additionalProperties"] = valueSchema(*v)
		defaults["additionalProperties"] = valueSchema(*v)
	}
	return obj{
		"description": spec.Doc,
		"properties": obj{
			"inputs":   inputs,
			"with":     with,
			"defaults": defaults,
		},
	}
}

func valueSchema(in registry.Input) obj {
	s := obj{"description": describe(in)}
	switch {
	case len(in.Enum) > 0:
		s["enum"] = in.Enum
	case in.Type != registry.Any:
		s["type"] = []string{string(in.Type), "null"}
	}
	if in.HasDefault {
		s["default"] = in.Default
	}
	return s
}

// describe is the editor's one-line help for an input.
func describe(in registry.Input) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(in.Doc))
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	typ := string(in.Type)
	if typ == "" {
		typ = "any"
	}
	add("Type: " + typ + ".")
	if in.HasDefault {
		d, err := json.Marshal(in.Default)
		if err == nil {
			add("Default: " + string(d) + ".")
		}
	} else {
		add("Required.")
	}
	if in.Stream {
		add("Stream input.")
	}
	if in.Const {
		add("Parameter: set it under with.")
	}
	return b.String()
}
