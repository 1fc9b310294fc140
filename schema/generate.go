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

// Messages the YAML language server shows instead of its own, which would
// quote the regular expression ("String does not match the pattern of
// ...") or an internal name. They are editor extensions (patternErrorMessage,
// errorMessage) that validators ignore; flowrun validate words its own.
const (
	nodeIDMessage    = "A node id is letters, digits, _ and -, starting with a letter or _; no dots, since \"node.output\" uses one."
	inputNameMessage = "An input or output name is lower-case letters, digits and _, starting with a letter."
	refMessage       = "Write a connection as \"node\", \"node.output\" or \"$input\" (an input of this subflow); constants go under with."
	durationMessage  = "Write a duration such as 100ms, 2s or 1m30s."
	typeMessage      = "Unknown node type: use a registered type (`flowrun nodes` lists them) or the path of a subflow file ending in .yaml or .yml."
)

func document(reg *registry.Registry) obj {
	defs := obj{
		"node_id": obj{
			"title":               "node id",
			"type":                "string",
			"pattern":             NodeIDPattern,
			"patternErrorMessage": nodeIDMessage,
			"description":         "The id of a node of this flow.",
		},
		"reference":  refSchema("connection", "A connection: \"node\" (its first output), \"node.output\", or \"$input\" inside a subflow."),
		"duration":   obj{"title": "duration", "type": "string", "pattern": DurationPattern, "patternErrorMessage": durationMessage, "description": "A duration such as 100ms, 2s or 1m30s."},
		"flow_input": flowInputSchema(),
		"nodes": obj{
			"title":                "nodes",
			"type":                 "object",
			"description":          "The nodes of the flow, by id. Order does not change meaning.",
			"errorMessage":         "nodes is a mapping from node ids to nodes, such as `hello: {type: term.print}`.",
			"propertyNames":        nameSchema("node id", NodeIDPattern, nodeIDMessage, false),
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
			"version": obj{"title": "version", "const": 1, "errorMessage": "The version of the flow file format is 1.", "description": "The version of the flow file format; 1 is the only one."},
			"name":    obj{"title": "name", "type": "string", "description": "The flow's name; the file name without extension by default."},
			"description": obj{
				"title": "description", "type": "string", "description": "What the flow does.",
			},
			"inputs": obj{
				"title":                "flow inputs",
				"type":                 "object",
				"description":          "The inputs of this flow when another flow uses it as a subflow; nodes read them as \"$name\" under inputs.",
				"errorMessage":         "inputs is a mapping from input names to their declarations (type, default, doc), or to nothing.",
				"propertyNames":        nameSchema("input name", InputNamePattern, inputNameMessage, false),
				"additionalProperties": obj{"$ref": "#/definitions/flow_input"},
			},
			"outputs": obj{
				"title":                "flow outputs",
				"type":                 "object",
				"description":          "The outputs of this flow when another flow uses it as a subflow: name to reference.",
				"errorMessage":         "outputs is a mapping from output names to connections such as \"node.output\".",
				"propertyNames":        nameSchema("output name", InputNamePattern, inputNameMessage, false),
				"additionalProperties": obj{"$ref": "#/definitions/reference"},
			},
			"nodes": obj{"$ref": "#/definitions/nodes"},
		},
		"definitions": defs,
	}
}

// nameSchema checks the keys of a mapping. Unless suggest is set, editors
// do not offer a placeholder key to complete, which would come before the
// names they know.
func nameSchema(title, pattern, message string, suggest bool) obj {
	s := obj{"title": title, "type": "string", "pattern": pattern, "patternErrorMessage": message}
	if !suggest {
		s["doNotSuggest"] = true
	}
	return s
}

func refSchema(title, desc string) obj {
	return obj{"title": title, "type": "string", "pattern": RefPattern, "patternErrorMessage": refMessage, "description": desc}
}

func flowInputSchema() obj {
	return obj{
		"title":                "flow input",
		"type":                 []string{"object", "null"},
		"description":          "An input of this flow used as a subflow.",
		"additionalProperties": false,
		"properties": obj{
			"type": obj{
				"title":       "type",
				"enum":        []string{"any", "string", "number", "integer", "boolean", "array", "object"},
				"description": "The JSON type of the input; any by default.",
			},
			"default": obj{"title": "default", "description": "The value used when the node that uses the subflow does not bind the input; it also starts cycles through the subflow."},
			"doc":     obj{"title": "doc", "type": "string", "description": "One sentence on what the input is for."},
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

// nodeSchema is a node: for each type the keys allowed under inputs, with
// and defaults, and its shape. The types come first: an editor shows the
// first description it finds for a key, and a type's description of an
// input says more than the shape's "A connection".
func nodeSchema(reg *registry.Registry) obj {
	var conds []any
	for _, name := range reg.Types() {
		conds = append(conds, obj{
			"if": obj{
				"type":       "object",
				"required":   []string{"type"},
				"properties": obj{"type": obj{"title": "type", "const": name}},
			},
			"then": obj{"$ref": TypeRef(name)},
		})
	}
	conds = append(conds, obj{"$ref": NodeShapeRef})
	return obj{
		"title":       "node",
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
		alts = append(alts, obj{"enum": types, "enumDescriptions": docs, "errorMessage": typeMessage, "description": "A registered node type."})
	}
	alts = append(alts, obj{"pattern": SubflowPattern, "patternErrorMessage": typeMessage, "description": "A subflow: the path of another flow file, relative to this one."})
	return obj{
		"title":                "node",
		"type":                 "object",
		"description":          "A node: its type and how each input gets its value.",
		"required":             []string{"type"},
		"additionalProperties": false,
		"properties": obj{
			"type": obj{
				"title":       "type",
				"type":        "string",
				"description": "A registered node type (see `flowrun nodes`), or the path of a subflow file ending in .yaml or .yml, relative to this file.",
				"anyOf":       alts,
			},
			"description": obj{"title": "description", "type": "string", "description": "What the node is for."},
			"inputs": obj{
				"title":                "inputs",
				"type":                 "object",
				"description":          "Connections: input name to \"node\" or \"node.output\". Always references, never literals.",
				"errorMessage":         "inputs is a mapping from input names to connections such as \"node.output\".",
				"propertyNames":        nameSchema("input name", InputNamePattern, inputNameMessage, false),
				"additionalProperties": obj{"$ref": "#/definitions/reference"},
			},
			"with": obj{
				"title":         "with",
				"type":          "object",
				"description":   "Constants: input name to a literal value. ${VAR} and ${VAR:-fallback} in strings read the environment.",
				"errorMessage":  "with is a mapping from input names to constant values.",
				"propertyNames": nameSchema("input name", InputNamePattern, inputNameMessage, false),
			},
			"defaults": obj{
				"title":         "defaults",
				"type":          "object",
				"description":   "Defaults: input name to the value used when the input has no data yet; defaults start cycles.",
				"errorMessage":  "defaults is a mapping from input names to values.",
				"propertyNames": nameSchema("input name", InputNamePattern, inputNameMessage, false),
			},
			"after": obj{
				"title":       "after",
				"type":        "array",
				"description": "Ordering-only dependencies: each run waits for a fresh run of these nodes, without data.",
				"items":       obj{"$ref": "#/definitions/node_id"},
			},
			"on_error": obj{
				"title":       "on_error",
				"enum":        []string{"fail", "continue"},
				"description": "fail (default) ends the flow when a run fails; continue reports the error and goes on.",
			},
			"retry": obj{
				"title":                "retry",
				"type":                 "object",
				"description":          "Retry a failed run before applying on_error.",
				"additionalProperties": false,
				"properties": obj{
					"attempts":  obj{"title": "attempts", "type": "integer", "minimum": 1, "description": "Total number of attempts (default 3)."},
					"delay":     obj{"$ref": "#/definitions/duration"},
					"max_delay": obj{"$ref": "#/definitions/duration"},
				},
			},
			"max_generations": obj{"title": "max_generations", "type": "integer", "minimum": 0, "description": "Stop the node after this many runs (0: no limit)."},
			"placement": obj{
				"title":       "placement",
				"enum":        []string{"local", "worker"},
				"description": "Where the node runs when the flow runs on workers (flowrun run --nats or --workers): local, in the process running the flow, or worker. Without it, types that run programs or use the network go to workers.",
			},
		},
	}
}

func typeDefName(typ string) string { return "type:" + typ }

// typeSchema checks the inputs, with and defaults of a node of one type.
// Under inputs, an editor offers only the inputs that can be connected:
// parameters stay allowed there (bound to a subflow's $input) but are not
// suggested.
func typeSchema(spec *registry.Spec) obj {
	conns, consts := obj{}, obj{}
	for _, in := range spec.Inputs {
		consts[in.Name] = valueSchema(in)
		if in.Const {
			conns[in.Name] = obj{
				"title":               in.Name,
				"type":                "string",
				"pattern":             `^\$[a-z][a-z0-9_]*$`,
				"patternErrorMessage": fmt.Sprintf("%s is a parameter of %s and cannot be connected: set it under with. Only an input of this subflow, such as $%s, can be given here.", in.Name, spec.Type, in.Name),
				"doNotSuggest":        true,
				"description":         describe(in) + " Only a subflow input ($name) bound to a constant may be connected here.",
			}
			continue
		}
		conns[in.Name] = refSchema(in.Name, describe(in))
	}
	part := func(title string, props obj) obj {
		return obj{"title": title + " of " + spec.Type, "type": "object", "properties": props, "additionalProperties": false}
	}
	inputs := part("inputs", conns)
	with := part("with", consts)
	defaults := part("defaults", consts)
	if v := spec.Variadic; v != nil {
		if !v.Const {
			inputs["additionalProperties"] = refSchema("input", describe(*v))
		}
		with["additionalProperties"] = valueSchema(*v)
		defaults["additionalProperties"] = valueSchema(*v)
	}
	return obj{
		"title":       spec.Type,
		"type":        "object",
		"description": spec.Doc + effectsNote(spec.Effects),
		"properties": obj{
			"inputs":   whenMapping("inputs", inputs),
			"with":     whenMapping("with", with),
			"defaults": whenMapping("defaults", defaults),
		},
	}
}

// effectsNote returns the sentence that ends the description of a type
// with effects, such as "\n\nEffects: exec (runs processes)." It is prose
// rather than a keyword of its own, which strict validators reject.
func effectsNote(effects []registry.Effect) string {
	if len(effects) == 0 {
		return ""
	}
	parts := make([]string, len(effects))
	for i, e := range effects {
		parts[i] = fmt.Sprintf("%s (%s)", e, e.Describe())
	}
	return "\n\nEffects: " + strings.Join(parts, ", ") + "."
}

// whenMapping applies s to a value that is a mapping. The node's shape
// already says that inputs, with and defaults must be mappings; saying it
// again here would show an editor's user two messages for one mistake.
func whenMapping(title string, s obj) obj {
	return obj{"if": obj{"title": title, "type": "object"}, "then": s}
}

func valueSchema(in registry.Input) obj {
	title := in.Name
	if title == "" {
		title = "input"
	}
	s := obj{"title": title, "description": describe(in)}
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
		if d, err := jsonText(in.Default); err == nil {
			add("Default: " + d + ".")
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

// jsonText is v as compact JSON, with <, > and & as they are: the text is
// read by people in an editor, not embedded in HTML.
func jsonText(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
