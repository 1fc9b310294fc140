package flowcli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/graph"
)

const graphDescription = `Prints the flow's graph for Graphviz (dot) or Mermaid. Nodes are labelled
"id (type)", connections with the input they feed ("output → input" when
they read an output other than the first).

   value connection     solid arrow
   stream connection    bold arrow (mermaid: ==>)
   back edge            red, labelled "(back edge, default V)": the input
                        that starts its cycle with its default
   after: dependency    dotted arrow labelled "after"

Examples:
   flowrun graph loop.yaml | dot -Tsvg > loop.svg
   flowrun graph --format mermaid flows/chatbot.yaml`

func (p *program) graphCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "graph",
		Usage:       "print a flow's graph as Graphviz dot or Mermaid",
		ArgsUsage:   "FLOW.yaml",
		Description: graphDescription,
		Flags:       []ucli.Flag{formatFlag("dot", "mermaid"), rootFlag(), maxFileSizeFlag()},
		Action: func(c *ucli.Context) error {
			format, err := checkFormat(c, "dot", "mermaid")
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usagef(helpName(c), "want exactly one flow file, got %d arguments", c.NArg())
			}
			p.root = c.String("root")
			if err := p.parseMaxFileSize(c, helpName(c)); err != nil {
				return err
			}
			flow, err := p.load(helpName(c), c.Args().First(), nil)
			if err != nil {
				return err
			}
			// The labels may show constants taken from the environment.
			out := p.secrets.Writer(p.stdout)
			defer out.Flush()
			p.stdout = out
			if format == "mermaid" {
				return writeMermaid(p.stdout, flow)
			}
			return writeDot(p.stdout, flow)
		},
	}
}

// An edge is one connection to draw.
type edge struct {
	from, to *graph.Node
	label    string
	stream   bool
	back     bool
	after    bool
}

// edges lists the connections of flow: for each node in file order, its
// inputs in order, then its after: dependencies.
func edges(flow *graph.Flow) []edge {
	var es []edge
	for _, n := range flow.Nodes {
		for _, b := range slices.Concat(n.Inputs, n.After) {
			if b.From.Node == nil || (b.Kind != graph.Connected && b.Kind != graph.Ordering) {
				continue
			}
			e := edge{from: b.From.Node, to: n}
			switch {
			case b.Kind == graph.Ordering:
				e.after, e.label = true, "after"
			default:
				e.label = b.Name
				if b.From.Index > 0 {
					e.label = b.From.Output + " → " + b.Name
				}
				e.stream = b.Stream
				if b.Seeded {
					e.back = true
					e.label += " (back edge, default " + jsonText(b.Default) + ")"
				}
			}
			es = append(es, e)
		}
	}
	return es
}

func jsonText(v any) string {
	raw, err := marshalPlain(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

// dotQuote quotes s as a DOT string.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func writeDot(w io.Writer, flow *graph.Flow) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(flow.Name))
	b.WriteString("  rankdir=LR;\n  node [shape=box];\n")
	for _, n := range flow.Nodes {
		fmt.Fprintf(&b, "  %s [label=%s];\n", dotQuote(n.ID), dotQuote(n.ID+" ("+n.Type+")"))
	}
	for _, e := range edges(flow) {
		attrs := []string{"label=" + dotQuote(e.label)}
		switch {
		case e.after:
			attrs = append(attrs, "style=dotted")
		case e.stream:
			attrs = append(attrs, "style=bold", "penwidth=2")
		}
		if e.back {
			// constraint=false keeps back edges from distorting the
			// left-to-right layout of the cycle.
			attrs = append(attrs, `color="#c0392b"`, `fontcolor="#c0392b"`, "constraint=false")
		}
		fmt.Fprintf(&b, "  %s -> %s [%s];\n", dotQuote(e.from.ID), dotQuote(e.to.ID), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes s for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;", "\n", " ").Replace(s)
}

func writeMermaid(w io.Writer, flow *graph.Flow) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	// Mermaid ids are restricted; number the nodes and show ids in labels.
	id := make(map[*graph.Node]string, len(flow.Nodes))
	for i, n := range flow.Nodes {
		id[n] = fmt.Sprintf("n%d", i)
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id[n], mermaidText(n.ID+" ("+n.Type+")"))
	}
	var back []int
	for i, e := range edges(flow) {
		arrow := "-->"
		switch {
		case e.after:
			arrow = "-.->"
		case e.stream:
			arrow = "==>"
		}
		if e.back {
			back = append(back, i)
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", id[e.from], arrow, mermaidText(e.label), id[e.to])
	}
	for _, i := range back {
		fmt.Fprintf(&b, "  linkStyle %d stroke:#c0392b,color:#c0392b\n", i)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
