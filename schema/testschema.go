package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Patterns of the names a test file contains.
const (
	// PortRefPattern matches "node" or "node.port": a node's output or
	// input in a test file's expectations (a node id may hold "/" when it
	// comes from a subflow).
	PortRefPattern = `^[A-Za-z_][A-Za-z0-9_/-]*(\.[a-z][a-z0-9_]*)?$`
	// MockIDPattern matches the id of a mocked node.
	MockIDPattern = `^[A-Za-z_][A-Za-z0-9_/-]*$`
	// SetKeyPattern matches a key of a case's set: "node.input".
	SetKeyPattern = `^[A-Za-z_][A-Za-z0-9_/-]*\.[a-z][a-z0-9_]*$`
	// EnvNamePattern matches an environment variable's name.
	EnvNamePattern = `^[A-Za-z_][A-Za-z0-9_]*$`
)

// Messages of the test-file schema that editors show (patternErrorMessage)
// instead of a regular expression.
const (
	flowPathMessage   = "A flow is the path of a flow file ending in .yaml or .yml, relative to this file."
	setKeyMessage     = "A key of set is \"node.input\": a node id, a dot and an input name in lower case."
	envNameMessage    = "An environment variable's name is letters, digits and _, not starting with a digit."
	testNodeIDMessage = "A node id is letters, digits, _, - and / (a node of a subflow), starting with a letter or _."
	portRefMessage    = "Write \"node\" (its first output) or \"node.output\"; under received, \"node.input\"."
	outputNameMessage = "An output name is lower-case letters, digits and _, starting with a letter."
)

// testName checks the keys of a mapping of a test file: a placeholder
// item an editor could complete to would only stand in for a name.
func testName(title, pattern, message string) obj {
	return obj{"title": title, "pattern": pattern, "patternErrorMessage": message, "doNotSuggest": true}
}

// Outcomes returns the outcomes a test case can expect: how the flow
// ended.
func Outcomes() []string { return []string{"done", "stopped", "limit", "failed"} }

// outcomeDocs describe the Outcomes, in order, for editors.
func outcomeDocs() []string {
	return []string{
		"The flow ended with nothing left to run.",
		"A node stopped the flow.",
		"A generation limit was reached.",
		"A node failed.",
	}
}

// MatcherKeys returns the keys of a mapping that is a matcher rather than
// a literal expected value in a test file.
func MatcherKeys() []string {
	return []string{"equals", "contains", "regex", "schema", "approx", "tolerance"}
}

// GenerateTest returns the JSON Schema of flowrun test files
// (*_test.yaml, see docs/testing.md): draft-07, indented, deterministic,
// ending in a newline. Unlike the flow schema it does not depend on the
// node registry: node ids, inputs and outputs are checked against the flow
// under test when the test runs.
func GenerateTest() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(testDocument()); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return buf.Bytes(), nil
}

func testDocument() obj {
	return obj{
		"$schema":              Draft,
		"title":                "flowrun test file",
		"description":          "Unit tests for flows, run by `flowrun test`: cases that run a flow with mocked nodes and check what it did. See docs/testing.md.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"cases"},
		"properties": obj{
			"flow": obj{"title": "flow", "type": "string", "pattern": SubflowPattern, "patternErrorMessage": flowPathMessage,
				"description": "The flow under test, relative to this file; by default the file's name without _test (loop_test.yaml tests loop.yaml)."},
			"description": obj{"title": "description", "type": "string", "description": "What these tests are about."},
			"cases": obj{
				"title":       "cases",
				"type":        "array",
				"minItems":    1,
				"description": "The test cases, run in order, each on a fresh run of the flow.",
				"items":       obj{"$ref": "#/definitions/case"},
			},
		},
		"definitions": obj{
			"case":     caseSchema(),
			"mock":     mockSchema(),
			"mock_run": mockRunSchema(),
			"expect":   expectSchema(),
			"outcome":  outcomeSchema(),
			"matcher":  matcherSchema(),
			"value_or_matcher": obj{
				"title":       "expected value",
				"description": "The expected value (compared for equality, numbers by value), or a matcher: a mapping with one of equals, contains, regex, schema or approx.",
				"if":          obj{"type": "object", "minProperties": 1, "propertyNames": obj{"enum": MatcherKeys()}},
				"then":        obj{"$ref": "#/definitions/matcher"},
			},
			"text_or_matcher": obj{
				"title":       "expected text",
				"description": "The expected text exactly, or a matcher: {contains: text}, {regex: pattern} or {equals: text}.",
				"anyOf": []any{
					obj{"type": "string"},
					obj{"$ref": "#/definitions/matcher"},
				},
			},
			"duration": obj{"title": "duration", "type": "string", "pattern": DurationPattern, "patternErrorMessage": durationMessage, "description": "A duration such as 100ms, 2s or 1m30s."},
		},
	}
}

func caseSchema() obj {
	return obj{
		"title":                "test case",
		"type":                 "object",
		"description":          "One test case: how to run the flow and what to expect.",
		"additionalProperties": false,
		"required":             []string{"name"},
		"properties": obj{
			"name":        obj{"title": "name", "type": "string", "minLength": 1, "description": "The case's name, unique in the file; --run selects cases by it."},
			"description": obj{"title": "description", "type": "string", "description": "What the case checks."},
			"flow": obj{"title": "flow", "type": "string", "pattern": SubflowPattern, "patternErrorMessage": flowPathMessage,
				"description": "The flow under test for this case, relative to this file; by default the file's flow."},
			"set": obj{
				"title":                "set",
				"type":                 "object",
				"description":          "Constants to override, as --set does: \"node.input\" to a value.",
				"propertyNames":        testName("node.input", SetKeyPattern, setKeyMessage),
				"additionalProperties": obj{"description": "The constant's value."},
			},
			"env": obj{
				"title":         "env",
				"type":          "object",
				"description":   "Environment variables the flow sees (${VAR} in constants, nodes that read the environment). Only these, PATH, HOME and TMPDIR are set.",
				"propertyNames": testName("variable", EnvNamePattern, envNameMessage),
				"additionalProperties": obj{
					"description": "The variable's value: a string, or a number or boolean written as text.",
					"anyOf":       []any{obj{"type": "string"}, obj{"type": "number"}, obj{"type": "boolean"}},
				},
			},
			"stdin": obj{"title": "stdin", "type": "string", "description": "The flow's standard input; empty by default."},
			"max_generations": obj{
				"title":       "max_generations",
				"description": "Generation limits, as --max-generations: a number for every node, or node id to number.",
				"anyOf": []any{
					obj{"type": "integer", "minimum": 1},
					obj{
						"type":                 "object",
						"propertyNames":        testName("node id", MockIDPattern, testNodeIDMessage),
						"additionalProperties": obj{"type": "integer", "minimum": 1},
					},
				},
			},
			"timeout": obj{"$ref": "#/definitions/duration", "description": "How long the flow may run before the case fails (default 10s)."},
			"mocks": obj{
				"title":                "mocks",
				"type":                 "object",
				"description":          "Nodes to replace, by id: the mock keeps the node's inputs and outputs, so the wiring is still checked, and produces scripted values instead of running.",
				"propertyNames":        testName("node id", MockIDPattern, testNodeIDMessage),
				"additionalProperties": obj{"$ref": "#/definitions/mock"},
			},
			"expect": obj{"$ref": "#/definitions/expect"},
		},
	}
}

func mockSchema() obj {
	outputs := obj{
		"title":                "outputs",
		"type":                 "object",
		"description":          "Output name to its final value.",
		"propertyNames":        testName("output", InputNamePattern, outputNameMessage),
		"additionalProperties": obj{"description": "The output's final value."},
	}
	return obj{
		"title":                "mock",
		"type":                 "object",
		"description":          "A mocked node: outputs (the same every run, or a list, one per run) or runs (a script per run). Past the last scripted run a run fails.",
		"additionalProperties": false,
		"properties": obj{
			"outputs": obj{
				"title":       "outputs",
				"description": "The outputs of every run (a mapping), or of successive runs (a list of mappings).",
				"anyOf": []any{
					outputs,
					obj{"type": "array", "minItems": 1, "items": outputs},
				},
			},
			"runs": obj{
				"title":       "runs",
				"type":        "array",
				"minItems":    1,
				"description": "What each successive run does: chunks to stream, final outputs, a failure or a stop.",
				"items":       obj{"$ref": "#/definitions/mock_run"},
			},
		},
	}
}

func mockRunSchema() obj {
	return obj{
		"title":                "mock run",
		"type":                 "object",
		"description":          "One run of a mocked node: it streams the chunks of stream in order, sets outputs, then fails with error or stops the flow with stop.",
		"additionalProperties": false,
		"properties": obj{
			"stream": obj{
				"title":       "stream",
				"type":        "array",
				"description": "Chunks to emit in order, each a one-key mapping output: chunk (for llm.chat: out for the answer, reasoning, usage).",
				"items": obj{
					"title":                "chunk",
					"type":                 "object",
					"minProperties":        1,
					"maxProperties":        1,
					"propertyNames":        testName("output", InputNamePattern, outputNameMessage),
					"additionalProperties": obj{"description": "The chunk."},
				},
			},
			"outputs": obj{
				"title":                "outputs",
				"type":                 "object",
				"description":          "Output name to final value. On a streaming type, an output that got no chunk is also emitted as one chunk.",
				"propertyNames":        testName("output", InputNamePattern, outputNameMessage),
				"additionalProperties": obj{"description": "The output's final value."},
			},
			"error": obj{"title": "error", "type": "string", "minLength": 1, "description": "Fail the run with this error, after streaming and setting outputs."},
			"stop":  obj{"title": "stop", "type": "string", "minLength": 1, "description": "Stop the flow cleanly with this reason, as control.stop does."},
		},
	}
}

func expectSchema() obj {
	byRef := func(title, desc string, value any) obj {
		return obj{
			"title":                title,
			"type":                 "object",
			"description":          desc,
			"propertyNames":        testName("node.port", PortRefPattern, portRefMessage),
			"additionalProperties": value,
		}
	}
	seq := obj{
		"title":       "values",
		"description": "The list of values, one per run, or a matcher.",
		"anyOf":       []any{obj{"type": "array"}, obj{"$ref": "#/definitions/matcher"}},
	}
	return obj{
		"title":                "expect",
		"type":                 "object",
		"description":          "What the run must have done. Every expectation is checked; a case fails with all that did not hold.",
		"additionalProperties": false,
		"properties": obj{
			"outcome": obj{"$ref": "#/definitions/outcome"},
			"final": byRef("final", "The last final value of node outputs: \"node\" (its first output) or \"node.output\" to a value or matcher; null for a node that never ran.",
				obj{"$ref": "#/definitions/value_or_matcher"}),
			"runs": byRef("runs", "How many runs of each node completed: node id to a number.",
				obj{"title": "runs", "type": "integer", "minimum": 0}),
			"received": byRef("received", "The values a node input received, one per run (from the event log; stream inputs are not recorded): \"node.input\" to a list or matcher.", seq),
			"produced": byRef("produced", "The final values of a node output, one per run: \"node\" or \"node.output\" to a list or matcher.", seq),
			"chunks":   byRef("chunks", "The chunks a node output streamed, across all runs: \"node\" or \"node.output\" to a list or matcher.", seq),
			"stdout":   obj{"$ref": "#/definitions/text_or_matcher", "description": "What the flow wrote to standard output."},
			"stderr":   obj{"$ref": "#/definitions/text_or_matcher", "description": "What the flow's nodes wrote to standard error (flowrun's own log lines are not included)."},
		},
	}
}

func outcomeSchema() obj {
	names, docs := Outcomes(), outcomeDocs()
	return obj{
		"title":       "outcome",
		"description": "How the flow ended: done, stopped, limit or failed, or a mapping that also says which node and why. Default: anything but failed.",
		"anyOf": []any{
			obj{"title": "end", "enum": names, "enumDescriptions": docs},
			obj{
				"title":                "outcome",
				"type":                 "object",
				"additionalProperties": false,
				"required":             []string{"end"},
				"properties": obj{
					"end":    obj{"title": "end", "enum": names, "enumDescriptions": docs, "description": "done (nothing left to run), stopped (a node stopped the flow), limit (a generation limit was reached) or failed (a node failed)."},
					"node":   obj{"title": "node", "type": "string", "pattern": MockIDPattern, "patternErrorMessage": testNodeIDMessage, "description": "The node that stopped the flow or failed, or one of those that reached their limit."},
					"reason": obj{"$ref": "#/definitions/text_or_matcher", "description": "The reason the node that stopped the flow gave (end: stopped)."},
					"error":  obj{"title": "error", "type": "string", "description": "A regular expression that the error, or its cause alone, must match (end: failed); the error reads file:line:col: node \"id\" (type) failed in run N: cause."},
				},
			},
		},
	}
}

func matcherSchema() obj {
	return obj{
		"title":                "matcher",
		"type":                 "object",
		"description":          "A matcher: exactly one of equals, contains, regex, schema or approx (with tolerance).",
		"additionalProperties": false,
		"minProperties":        1,
		"properties": obj{
			"equals":    obj{"title": "equals", "description": "Equal to this value (numbers by value); use it to expect a mapping that looks like a matcher."},
			"contains":  obj{"title": "contains", "description": "A string that contains this text, a list that contains this element, or a mapping that has these keys with these values."},
			"regex":     obj{"title": "regex", "type": "string", "description": "A string that matches this regular expression (RE2 syntax; unanchored, use ^ and $)."},
			"schema":    obj{"title": "schema", "type": "object", "description": "A value valid against this JSON Schema (draft-07)."},
			"approx":    obj{"title": "approx", "type": "number", "description": "A number within tolerance of this one."},
			"tolerance": obj{"title": "tolerance", "type": "number", "minimum": 0, "description": "The largest difference approx allows (default 1e-9)."},
		},
		"oneOf": []any{
			only("equals"), only("contains"), only("regex"), only("schema"), only("approx"),
		},
		"dependencies": obj{"tolerance": []string{"approx"}},
	}
}

// only is the branch of a matcher's oneOf that requires key. Strict
// validators (Ajv's strictRequired) want a required key declared in the
// same schema, so it is declared again, allowing anything: the matcher's
// properties say what it holds.
func only(key string) obj {
	return obj{"required": []string{key}, "properties": obj{key: true}}
}
