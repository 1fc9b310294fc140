package flowcli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/registry"
)

func formatFlag(formats ...string) *ucli.StringFlag {
	return &ucli.StringFlag{
		Name:  "format",
		Value: formats[0],
		Usage: "output `FORMAT`: " + strings.Join(formats, ", "),
	}
}

// checkFormat returns a usage error unless the --format value is one of
// formats.
func checkFormat(c *ucli.Context, formats ...string) (string, error) {
	f := c.String("format")
	for _, ok := range formats {
		if f == ok {
			return f, nil
		}
	}
	return "", usagef(helpName(c), "--format %q: want %s", f, strings.Join(formats, " or "))
}

func (p *program) nodesCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "nodes",
		Usage:     "list the node types",
		ArgsUsage: " ",
		Description: `Lists every node type: its kind (streams, stateful), its effects (exec
runs processes, read and write files, net uses the network, terminal reads
the terminal; "flowrun run --deny" refuses them) and a one-line summary.
The json format prints the full declarations, as "flowrun explain" shows
them.

Examples:
   flowrun nodes
   flowrun nodes --format json | jq '.[] | select(.streams) | .type'
   flowrun nodes --format json | jq '.[] | select(.effects | index("exec")) | .type'`,
		Flags: []ucli.Flag{formatFlag("text", "json")},
		Action: func(c *ucli.Context) error {
			format, err := checkFormat(c, "text", "json")
			if err != nil {
				return err
			}
			if c.NArg() > 0 {
				return usagef(helpName(c), "takes no arguments")
			}
			reg, err := p.newRegistry()
			if err != nil {
				return err
			}
			specs := allSpecs(reg)
			if format == "json" {
				return writeJSON(p.stdout, describeAll(specs))
			}
			var rows [][]string
			for _, s := range specs {
				rows = append(rows, []string{s.Type, kindFlags(s), effectsText(s.Effects), summary(s.Doc)})
			}
			return writeTable(p.stdout, "", rows)
		},
	}
}

func (p *program) explainCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "explain",
		Usage:     "describe a node type: inputs, outputs, behaviour and an example",
		ArgsUsage: "TYPE",
		Description: `Shows a node type's documentation, its inputs (JSON type, default, whether
it is a stream input or a parameter that must be a constant), its outputs,
whether it streams or keeps state, and an example node in YAML.

Examples:
   flowrun explain math.inc
   flowrun explain --format json llm.chat`,
		Flags: []ucli.Flag{formatFlag("text", "json")},
		Action: func(c *ucli.Context) error {
			format, err := checkFormat(c, "text", "json")
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usagef(helpName(c), "want one node type, got %d arguments", c.NArg())
			}
			reg, err := p.newRegistry()
			if err != nil {
				return err
			}
			typ := c.Args().First()
			spec, ok := reg.Lookup(typ)
			if !ok {
				return &usageError{
					cmd:  helpName(c),
					err:  fmt.Errorf("unknown type %q%s", typ, didYouMean(typ, reg.Types())),
					hint: "Run 'flowrun nodes' for the list of node types.",
				}
			}
			if format == "json" {
				return writeJSON(p.stdout, describe(spec))
			}
			return writeExplain(p.stdout, spec)
		},
	}
}

func allSpecs(reg *registry.Registry) []*registry.Spec {
	var specs []*registry.Spec
	for _, t := range reg.Types() {
		if s, ok := reg.Lookup(t); ok {
			specs = append(specs, s)
		}
	}
	return specs
}

// summary returns the first line of a type's doc.
func summary(doc string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
	return first
}

// kindFlags returns "streams, stateful", "streams", "stateful" or "-".
func kindFlags(s *registry.Spec) string {
	var kinds []string
	if s.Streams {
		kinds = append(kinds, "streams")
	}
	if s.Stateful {
		kinds = append(kinds, "stateful")
	}
	if len(kinds) == 0 {
		return "-"
	}
	return strings.Join(kinds, ",")
}

// effectsText returns the effects as "exec,read", or "none".
func effectsText(es []registry.Effect) string {
	if len(es) == 0 {
		return "none"
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = string(e)
	}
	return strings.Join(names, ",")
}

func typeName(t registry.JSONType) string {
	if t == registry.Any {
		return "any"
	}
	return string(t)
}

// typeDesc is the JSON form of a node type for "nodes --format json" and
// "explain --format json".
type typeDesc struct {
	Type     string       `json:"type"`
	Summary  string       `json:"summary"`
	Doc      string       `json:"doc"`
	Inputs   []inputDesc  `json:"inputs"`
	Variadic *inputDesc   `json:"variadic,omitempty"`
	Outputs  []outputDesc `json:"outputs"`
	Streams  bool         `json:"streams"`
	Stateful bool         `json:"stateful"`
	// SavesState: a stateful type whose state can move between
	// processes, so that its nodes may run on workers.
	SavesState bool `json:"saves_state"`
	// Restartable: a stateful type whose run may start over when a
	// stream it reads starts over (registry.Spec.Restartable).
	Restartable bool `json:"restartable"`
	// Effects lists what the type does besides computing: exec, read,
	// write, net, terminal; empty for none.
	Effects []string `json:"effects"`
	Example string   `json:"example,omitempty"`
}

type inputDesc struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	Doc  string `json:"doc,omitempty"`
	// Default is absent when the input has none (it is then required);
	// null is a default like any other.
	Default  *json.RawMessage `json:"default,omitempty"`
	Required bool             `json:"required"`
	Stream   bool             `json:"stream"`
	Const    bool             `json:"const"`
	Enum     []any            `json:"enum,omitempty"`
}

type outputDesc struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc,omitempty"`
}

func describeAll(specs []*registry.Spec) []typeDesc {
	descs := make([]typeDesc, 0, len(specs))
	for _, s := range specs {
		descs = append(descs, describe(s))
	}
	return descs
}

func describe(s *registry.Spec) typeDesc {
	d := typeDesc{
		Type:        s.Type,
		Summary:     summary(s.Doc),
		Doc:         strings.TrimSpace(s.Doc),
		Inputs:      make([]inputDesc, 0, len(s.Inputs)),
		Outputs:     make([]outputDesc, 0, len(s.Outputs)),
		Streams:     s.Streams,
		Stateful:    s.Stateful,
		SavesState:  s.Stateful && s.SavesState,
		Restartable: s.Stateful && s.Restartable,
		Effects:     make([]string, 0, len(s.Effects)),
		Example:     s.Example,
	}
	for _, e := range s.Effects {
		d.Effects = append(d.Effects, string(e))
	}
	for _, in := range s.Inputs {
		d.Inputs = append(d.Inputs, describeInput(in))
	}
	if s.Variadic != nil {
		v := describeInput(*s.Variadic)
		v.Name = ""
		d.Variadic = &v
	}
	for _, out := range s.Outputs {
		d.Outputs = append(d.Outputs, outputDesc{Name: out.Name, Type: typeName(out.Type), Doc: out.Doc})
	}
	return d
}

func describeInput(in registry.Input) inputDesc {
	d := inputDesc{
		Name:     in.Name,
		Type:     typeName(in.Type),
		Doc:      in.Doc,
		Required: in.Required(),
		Stream:   in.Stream,
		Const:    in.Const,
		Enum:     in.Enum,
	}
	if in.HasDefault {
		raw, err := marshalPlain(in.Default)
		if err != nil {
			raw = []byte(`null`) // registry defaults are JSON-shaped
		}
		m := json.RawMessage(raw)
		d.Default = &m
	}
	return d
}

// writeJSON writes v as indented JSON, with <, > and & left as they are.
// marshalPlain is json.Marshal without escaping <, > and &, which people
// read in defaults such as a "> " prompt.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeExplain writes the text form of "flowrun explain".
func writeExplain(w io.Writer, s *registry.Spec) error {
	d := describe(s)
	fmt.Fprintf(w, "%s: %s\n", d.Type, d.Summary)
	if _, rest, ok := strings.Cut(d.Doc, "\n"); ok && strings.TrimSpace(rest) != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(rest))
	}
	stateful := yesNo(d.Stateful)
	if d.SavesState {
		stateful += " (state saved: may run on workers)"
	}
	if d.Restartable {
		stateful += " (restartable: starts over when a stream it reads does)"
	}
	fmt.Fprintf(w, "\nstreams: %s   stateful: %s   effects: %s\n", yesNo(d.Streams), stateful, effectsText(s.Effects))

	fmt.Fprintf(w, "\nInputs:\n")
	var rows [][]string
	for _, in := range d.Inputs {
		rows = append(rows, []string{in.Name, inputType(in), defaultText(in), inputKind(in), in.Doc})
	}
	if v := d.Variadic; v != nil {
		rows = append(rows, []string{"<any name>", inputType(*v), defaultText(*v), inputKind(*v), v.Doc})
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	} else {
		rows = slices.Insert(rows, 0, []string{"NAME", "TYPE", "DEFAULT", "KIND", "DESCRIPTION"})
		if err := writeTable(w, "  ", rows); err != nil {
			return err
		}
	}

	if len(d.Outputs) > 1 {
		fmt.Fprintf(w, "\nOutputs (the first is what a bare reference to the node means):\n")
	} else {
		fmt.Fprintf(w, "\nOutputs:\n")
	}
	rows = [][]string{{"NAME", "TYPE", "DESCRIPTION"}}
	for _, out := range d.Outputs {
		rows = append(rows, []string{out.Name, out.Type, out.Doc})
	}
	if err := writeTable(w, "  ", rows); err != nil {
		return err
	}
	if ex := strings.TrimRight(d.Example, "\n"); ex != "" {
		fmt.Fprintf(w, "\nExample:\n")
		for _, line := range strings.Split(ex, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	return nil
}

// writeTable writes rows as aligned columns, each line indented, without
// trailing spaces.
func writeTable(w io.Writer, indent string, rows [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s%s\n", indent, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func inputType(in inputDesc) string {
	if len(in.Enum) == 0 {
		return in.Type
	}
	vals := make([]string, len(in.Enum))
	for i, v := range in.Enum {
		raw, _ := marshalPlain(v)
		vals[i] = string(raw)
	}
	return in.Type + " (" + strings.Join(vals, "|") + ")"
}

func defaultText(in inputDesc) string {
	if in.Default == nil {
		return "(required)"
	}
	return string(*in.Default)
}

// inputKind says how the input may be bound: "parameter" (a constant
// only), "stream" (reads chunks as they arrive) or "value".
func inputKind(in inputDesc) string {
	switch {
	case in.Const:
		return "parameter"
	case in.Stream:
		return "stream"
	}
	return "value"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
