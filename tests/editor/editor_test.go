// Package editor_test checks the schemas flowrun ships with the tools
// people write flows with: the real yaml-language-server (the server of
// VS Code's YAML extension, Neovim's yamlls, Helix and Zed), driven over
// LSP stdio, and Ajv in strict mode. Both are npm packages installed in
// this directory by scripts/test-deps.sh.
package editor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/registry"
)

// modeline matches the first line of every example file: how an editor
// without settings finds the schema, one of schema/*.schema.json.
var modeline = regexp.MustCompile(`^# yaml-language-server: \$schema=\.\./schema/([a-z]+\.schema\.json)$`)

// exampleFiles returns the YAML files of flows/ (the example flows, and
// the test files of `flowrun test` when there are any) with the schema
// each names in its modeline, failing the test when one has none.
func exampleFiles(t *testing.T) map[string]string {
	t.Helper()
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "flows", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example flows: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(text), "\n")
		m := modeline.FindStringSubmatch(first)
		if m == nil {
			t.Errorf("%s: the first line is %q, want a modeline such as %q", filepath.Base(f), first, "# yaml-language-server: $schema=../schema/flow.schema.json")
			continue
		}
		schemaPath := filepath.Join(root, "schema", m[1])
		if _, err := os.Stat(schemaPath); err != nil {
			t.Errorf("%s: the modeline names %s: %v", filepath.Base(f), m[1], err)
			continue
		}
		out[f] = schemaPath
	}
	return out
}

// serverSettings are the yaml settings of the tests: the settings a user
// puts in an editor's configuration (the README's "Editor support") to
// get the flow schema for the files named broken-*.yaml and edit-*.yaml
// except test files, and the test-file schema for *_test.yaml; and no
// schema store, which would be fetched from the network.
func serverSettings() map[string]any {
	return map[string]any{
		"validate":    true,
		"hover":       true,
		"completion":  true,
		"schemaStore": map[string]any{"enable": false},
		"schemas": map[string]any{
			"./schema/flow.schema.json":     []string{"broken-*.yaml", "edit-*.yaml", "!*_test.yaml"},
			"./schema/flowtest.schema.json": []string{"*_test.yaml"},
		},
	}
}

func builtinRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatalf("builtin.Register: %v", err)
	}
	return reg
}

// TestExampleFlowsHaveNoDiagnostics opens every file of flows/ as an
// editor does, the schema found from its modeline.
func TestExampleFlowsHaveNoDiagnostics(t *testing.T) {
	t.Parallel()
	files := exampleFiles(t)
	c := startServer(t)
	for f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := c.open(f, string(text))
		for _, dg := range d.diagnostics() {
			t.Errorf("%s:%d:%d: %s", filepath.Base(f), dg.Range.Start.Line+1, dg.Range.Start.Character+1, dg.Message)
		}
		d.close()
	}

	// The modeline is what brings the schema: the same text with a
	// mistake is flagged (the file name matches no yaml.schemas pattern).
	text := "# yaml-language-server: $schema=../schema/flow.schema.json\nnodes:\n  a:\n    type: llm.chta\n"
	d := c.open(filepath.Join(repoRoot(t), "flows", "unsaved.yaml"), text)
	diags := d.diagnostics()
	if len(diags) != 1 || diags[0].Range.Start != (position{Line: 3, Character: 10}) {
		t.Errorf("a misspelt type in a flow with the modeline: want one diagnostic at 4:11, got%s", messages(diags))
	}
}

// brokenFlows are flows with mistakes the schema can see. The language
// server must flag each where `flowrun validate` does.
var brokenFlows = []struct {
	name string
	flow string
}{
	{"misspelt type", "nodes:\n  a:\n    type: llm.chta\n"},
	{"unknown node key", "nodes:\n  a:\n    type: math.inc\n    inptus: {x: b}\n  b:\n    type: value.const\n"},
	{"unknown input under with", "nodes:\n  a:\n    type: llm.chat\n    with: {modle: x}\n"},
	{"unknown input under inputs", "nodes:\n  a:\n    type: math.inc\n    inputs:\n      y: b\n  b:\n    type: value.const\n"},
	{"constant of the wrong type", "nodes:\n  a:\n    type: llm.chat\n    with:\n      retries: two\n"},
	{"enum constant", "nodes:\n  a:\n    type: exec\n    with: {command: [echo], output: csv}\n"},
	{"parameter connected", "nodes:\n  a:\n    type: llm.chat\n    inputs: {model: b}\n  b:\n    type: value.const\n"},
	{"literal under inputs", "nodes:\n  a:\n    type: math.inc\n    inputs: {x: 3}\n"},
	{"bad reference", "nodes:\n  a:\n    type: math.inc\n    inputs: {x: \"b out\"}\n"},
	{"node without type", "nodes:\n  a:\n    inputs: {x: b}\n"},
	{"node id with a dot", "nodes:\n  a.b:\n    type: value.const\n"},
	{"bad input name", "nodes:\n  a:\n    type: text.concat\n    inputs: {Big: b}\n  b:\n    type: value.const\n"},
	{"empty nodes", "version: 1\nnodes:\n"},
	{"empty with", "nodes:\n  a:\n    type: math.inc\n    with:\n"},
	{"empty inputs", "nodes:\n  a:\n    type: math.inc\n    inputs:\n"},
	{"no nodes", "version: 1\nname: x\n"},
	{"version", "version: 2\nnodes:\n  a: {type: value.const}\n"},
	{"unknown top-level key", "version: 1\nnode:\n  a: {type: value.const}\nnodes:\n  b: {type: value.const}\n"},
	{"on_error", "nodes:\n  a:\n    type: value.const\n    on_error: ignore\n"},
	{"retry delay", "nodes:\n  a:\n    type: value.const\n    retry: {attempts: 2, delay: soon}\n"},
	{"retry attempts", "nodes:\n  a:\n    type: value.const\n    retry: {attempts: 0}\n"},
	{"after", "nodes:\n  a:\n    type: value.const\n    after: [b.out]\n  b: {type: value.const}\n"},
	{"flow input key", "inputs:\n  x: {type: string, dflt: 1}\nnodes:\n  a: {type: value.identity, inputs: {x: $x}}\n"},
	{"several at once", "nodes:\n  a:\n    type: math.inc\n    with: {x: one}\n  b:\n    type: math.nope\n  c:\n    type: llm.chat\n    inputs: {messages: a, model: a}\n"},
}

// internal matches what a message must not show a person: a regular
// expression, a JSON Schema type spelt with a title, a definition's name.
var internal = regexp.MustCompile(`Expected "(nodes|node|reference|duration)"|\^|pattern of|object\(|node_shape|node_id|flow_input|definitions|type:[a-z]+\.`)

func TestBrokenFlowsDiagnosticsWhereValidateReports(t *testing.T) {
	t.Parallel()
	c := startServer(t)
	dir := t.TempDir()
	for i, tt := range brokenFlows {
		path := filepath.Join(dir, fmt.Sprintf("broken-%02d.yaml", i))
		if err := os.WriteFile(path, []byte(tt.flow), 0o644); err != nil {
			t.Fatal(err)
		}
		want := validatePositions(t, path)
		if len(want) == 0 {
			t.Errorf("%s: flowrun validate finds nothing wrong in\n%s", tt.name, tt.flow)
			continue
		}
		d := c.open(path, tt.flow)
		diags := d.diagnostics()
		d.close()
		var got []string
		for _, dg := range diags {
			got = append(got, fmt.Sprintf("%d:%d", dg.Range.Start.Line+1, dg.Range.Start.Character+1))
			if internal.MatchString(dg.Message) {
				t.Errorf("%s: the message %q shows an internal name or a regular expression", tt.name, dg.Message)
			}
		}
		got = uniqueSorted(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: yaml-language-server flags %v, flowrun validate %v\n%s\nserver: %s", tt.name, got, want, tt.flow, messages(diags))
		}
	}
}

// validatePositions runs `flowrun validate --format json` on path and
// returns the line:col of each problem, sorted.
func validatePositions(t *testing.T, path string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := flowcli.Main(t.Context(), []string{"flowrun", "validate", "--format", "json", path}, nil, strings.NewReader(""), &stdout, &stderr)
	if code != 0 && code != 2 {
		t.Fatalf("flowrun validate %s: exit %d\n%s%s", path, code, stdout.String(), stderr.String())
	}
	if code == 0 {
		return nil
	}
	var problems []struct {
		Line int `json:"line"`
		Col  int `json:"col"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &problems); err != nil {
		t.Fatalf("flowrun validate --format json: %v\n%s", err, stdout.String())
	}
	var pos []string
	for _, p := range problems {
		pos = append(pos, fmt.Sprintf("%d:%d", p.Line, p.Col))
	}
	return uniqueSorted(pos)
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

func messages(diags []diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n  %d:%d %s", d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
	}
	return b.String()
}

// editFlow is a flow being written; the tests complete and hover at the
// places its comments point at.
const editFlow = `version: 1
nodes:
  reply:
    type: llm.chat
    inputs:
      messages: history.messages
    with:
      model: gpt
      
  history:
    type: chat.history
    inputs:
      
  chat:
    type: term.chat
    with:
      prompt: "you> "
  next:
    type: 
  draft:
    
`

// openEdit opens editFlow under a name the yaml.schemas setting maps to
// the committed schema.
func openEdit(t *testing.T, c *lspClient) *document {
	t.Helper()
	d := c.open(filepath.Join(t.TempDir(), "edit-flow.yaml"), editFlow)
	// The flow is unfinished where completion is asked: the schema is in
	// effect when the empty inputs of history, the empty type of next and
	// the empty node draft are flagged, and nothing else.
	diags := d.diagnostics()
	var got []string
	for _, dg := range diags {
		got = append(got, fmt.Sprintf("%d:%d", dg.Range.Start.Line+1, dg.Range.Start.Character+1))
	}
	if want := []string{"12:12", "19:11", "20:9"}; !slices.Equal(uniqueSorted(got), want) {
		t.Fatalf("diagnostics of the flow being edited: want %v, got%s", want, messages(diags))
	}
	return d
}

func labels(items []completionItem) []string {
	var l []string
	for _, it := range items {
		l = append(l, it.Label)
	}
	return l
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	reg := builtinRegistry(t)
	c := startServer(t)
	d := openEdit(t, c)

	t.Run("type value offers every registered type", func(t *testing.T) {
		items := d.completion(d.at("  next:\n    type: "))
		docs := map[string]string{}
		for _, it := range items {
			docs[it.Label] = it.doc()
		}
		for _, name := range reg.Types() {
			spec, _ := reg.Lookup(name)
			doc, ok := docs[name]
			if !ok {
				t.Errorf("type %s is not offered; offered: %v", name, labels(items))
				continue
			}
			if doc != spec.Doc {
				t.Errorf("type %s is offered with the documentation %q, want %q", name, doc, spec.Doc)
			}
		}
		if len(items) != len(reg.Types()) {
			t.Errorf("offered %d items for %d registered types: %v", len(items), len(reg.Types()), labels(items))
		}
	})

	t.Run("with of llm.chat offers its inputs and no others", func(t *testing.T) {
		spec, _ := reg.Lookup("llm.chat")
		var want []string
		for _, in := range spec.Inputs {
			if in.Name != "model" { // already written
				want = append(want, in.Name)
			}
		}
		items := d.completion(d.at("      model: gpt\n      "))
		got := labels(items)
		if !slices.Equal(uniqueSorted(got), uniqueSorted(want)) {
			t.Errorf("completion under with of llm.chat offers %v, want %v", got, want)
		}
		for _, it := range items {
			in, _ := spec.Input(it.Label)
			if !strings.HasPrefix(it.doc(), in.Doc) {
				t.Errorf("%s is offered with the documentation %q, want it to start with %q", it.Label, it.doc(), in.Doc)
			}
		}
	})

	t.Run("a new node offers its keys", func(t *testing.T) {
		items := d.completion(d.at("  draft:\n    "))
		got := labels(items)
		for _, want := range []string{"type", "inputs", "with", "defaults", "after", "on_error", "retry", "max_generations", "description"} {
			if !slices.Contains(got, want) {
				t.Errorf("completion in a new node does not offer %s: %v", want, got)
			}
		}
		for _, l := range got {
			if internal.MatchString(l) || strings.Contains(l, "_shape") {
				t.Errorf("completion in a new node offers %q, an internal name: %v", l, got)
			}
		}
	})

	t.Run("inputs offers only connectable inputs", func(t *testing.T) {
		spec, _ := reg.Lookup("chat.history")
		var want []string
		for _, in := range spec.Inputs {
			if !in.Const {
				want = append(want, in.Name)
			}
		}
		if len(want) == 0 || len(want) == len(spec.Inputs) {
			t.Fatalf("chat.history has %d inputs, %d connectable: the test needs both kinds", len(spec.Inputs), len(want))
		}
		got := labels(d.completion(d.at("    type: chat.history\n    inputs:\n      ")))
		if !slices.Equal(uniqueSorted(got), uniqueSorted(want)) {
			t.Errorf("completion under inputs of chat.history offers %v, want its connectable inputs %v", got, want)
		}
		// llm.chat has one connectable input, already connected.
		if got := labels(d.completion(d.at("      messages: history.messages\n"))); len(got) != 0 {
			t.Errorf("completion under inputs of llm.chat, messages connected, offers %v, want nothing", got)
		}
	})
}

// plain undoes the escapes of the Markdown the server renders a
// description in ("$OPENAI\_MODEL", "\{role, content\}").
func plain(md string) string {
	return regexp.MustCompile(`\\([!-/:-@\[-`+"`"+`{-~])`).ReplaceAllString(md, "$1")
}

func TestHover(t *testing.T) {
	t.Parallel()
	reg := builtinRegistry(t)
	c := startServer(t)
	d := openEdit(t, c)
	tests := []struct {
		name   string
		at     string // the hover is at the end of at
		typ    string
		input  string
		extras []string // more text the hover shows
	}{
		{"with key", "    with:\n      mod", "llm.chat", "model", []string{"Default: \"\"."}},
		{"inputs key", "    inputs:\n      messa", "llm.chat", "messages", []string{"Required."}},
		{"inputs value", "messages: history.mes", "llm.chat", "messages", nil},
		// A default with > reads as written, not as JSON's \u003e.
		{"default with >", "      prom", "term.chat", "prompt", []string{`Default: "> ".`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, _ := reg.Lookup(tt.typ)
			in, ok := spec.Input(tt.input)
			if !ok {
				t.Fatalf("%s has no input %s", tt.typ, tt.input)
			}
			h := plain(d.hover(d.at(tt.at)))
			for _, want := range append([]string{"#### " + tt.input + "\n", in.Doc}, tt.extras...) {
				if !strings.Contains(h, want) {
					t.Errorf("hover on %s of %s: want %q in\n%s", tt.input, tt.typ, want, h)
				}
			}
		})
	}
}
