package graph_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/graph"
)

// TestStreamedLoadSameResult checks that building a large flow as it is
// read gives the flow, or the errors, of building it once the file is
// read: on every loader test case, made large by blank lines before its
// first node, and on a large flow of several chunks with
// references forward and back, subflows, after: lists and errors
// (unknown types and nodes, wrong outputs, bad constants, a stuck cycle).
func TestStreamedLoadSameResult(t *testing.T) {
	t.Parallel()
	reg := testRegistry()
	files, err := filepath.Glob("testdata/load/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatal("no test cases in testdata/load")
	}
	tried, streamed := 0, 0
	for i, file := range files {
		if raceEnabled && i%4 != 0 {
			continue // the race detector makes loading ten times slower
		}
		tried++
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sections := map[string][]byte{}
		for _, f := range parseArchive(data).files {
			sections[f.name] = f.data
		}
		src, ok := padNodes(sections["flow.yaml"])
		if !ok {
			continue
		}
		streamed++
		sections["flow.yaml"] = src
		opts := optionsFor(sections)
		got, want := dumpLoad(graph.Load("flow.yaml", src, reg, opts)), dumpLoad(graph.LoadUnstreamed("flow.yaml", src, reg, opts))
		if got != want {
			t.Errorf("%s: streamed:\n%s\nwant:\n%s", file, got, want)
		}
	}
	t.Logf("%d of %d cases padded", streamed, tried)
	if streamed*4 < tried*3 {
		t.Errorf("only %d of %d cases could be padded", streamed, tried)
	}

	sub := []byte("inputs:\n  x: {type: number}\noutputs:\n  out: m\nnodes:\n  m: {type: math.mul, inputs: {x: $x}}\n")
	opts := graph.Options{ReadFile: func(path string) ([]byte, error) {
		if filepath.Base(path) == "sub.yaml" {
			return sub, nil
		}
		return nil, os.ErrNotExist
	}}
	for _, broken := range []bool{false, true} {
		if raceEnabled && broken {
			continue
		}
		src := bigMixedFlow(8_000, broken)
		if len(src) < graph.ChunkFrom {
			t.Fatalf("%d bytes: not large enough to be streamed", len(src))
		}
		got := dumpLoad(graph.Load("big.yaml", src, reg, opts))
		want := dumpLoad(graph.LoadUnstreamed("big.yaml", src, reg, opts))
		if got != want {
			t.Errorf("broken=%v: the streamed load differs:\n%s", broken, firstDiff(got, want))
		}
		if strings.HasPrefix(want, "ok\n") == broken {
			t.Errorf("broken=%v: got %.300s", broken, want)
		}
	}
}

// TestStreamedDuplicateIDs checks that a node id written again chunks
// later is reported as the whole file's decoding reports it (--set
// makes Load decode the whole file), at each repetition, with the
// position of the first.
func TestStreamedDuplicateIDs(t *testing.T) {
	t.Parallel()
	src := bigMixedFlow(8_000, false)
	src = bytes.Replace(src, []byte("  n4500:\n"), []byte("  n5:\n"), 1)
	src = bytes.Replace(src, []byte("  n7001:\n"), []byte("  n5:\n"), 1)
	src = bytes.Replace(src, []byte("  n7002:\n"), []byte("  n4501:\n"), 1)
	reg := testRegistry()
	_, err := graph.Load("big.yaml", src, reg, graph.Options{})
	_, whole := graph.Load("big.yaml", src, reg, graph.Options{Set: []string{"n0.x=2"}})
	got, want := render(nil, err), render(nil, whole)
	if got != want {
		t.Errorf("streamed:\n%s\nwant:\n%s", got, want)
	}
	if n := strings.Count(want, "duplicate node id"); n != 3 {
		t.Errorf("want 3 duplicates, got\n%s", want)
	}
}

// padNodes puts 1 MiB of blank lines (spaces, which YAML reads quickly)
// before the first entry of the nodes mapping of src, if it is written in
// block style.
func padNodes(src []byte) ([]byte, bool) {
	before, after, ok := bytes.Cut(append([]byte("\n"), src...), []byte("\nnodes:\n"))
	if !ok || !bytes.HasPrefix(after, []byte("  ")) {
		return nil, false
	}
	var b bytes.Buffer
	b.Grow(graph.ChunkFrom + len(src) + 2000)
	b.Write(before[min(1, len(before)):])
	if len(before) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("nodes:\n")
	line := strings.Repeat(" ", 1000) + "\n"
	for b.Len() < graph.ChunkFrom {
		b.WriteString(line)
	}
	b.Write(after)
	return b.Bytes(), true
}

// bigMixedFlow writes n nodes: every 13th starts a chain from a
// constant; the others read their predecessor and, every 7th, the start
// of a chain more than 3,000 entries on (more than a chunk ahead); every
// 50th node uses a subflow, which the next node reads; every 11th waits
// for the node before it (after:). Each follows a blank line of 100
// spaces, so that a few thousand make a large file. broken adds errors here and there.
func bigMixedFlow(n int, broken bool) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nname: big\nnodes:\n")
	for i := range n {
		id := fmt.Sprintf("n%d", i)
		b.WriteString(strings.Repeat(" ", 100) + "\n")
		start := ((i+3000)/13 + 1) * 13
		switch {
		case i%13 == 0:
			fmt.Fprintf(&b, "  %s:\n    type: math.inc\n    with: {x: 1}\n", id)
		case i%50 == 0:
			fmt.Fprintf(&b, "  %s:\n    type: sub.yaml\n    inputs: {x: n%d}\n", id, i-1)
		case i%7 == 0 && start < n:
			fmt.Fprintf(&b, "  %s:\n    type: math.add\n    inputs: {a: n%d, b: n%d.out}\n", id, i-1, start)
		default:
			fmt.Fprintf(&b, "  %s:\n    type: math.mul\n    inputs: {x: n%d}\n    with: {by: %d}\n", id, i-1, i%5)
		}
		if i%11 == 0 && i > 0 {
			fmt.Fprintf(&b, "    after: [n%d]\n", i-1)
		}
		if !broken {
			continue
		}
		switch i % 997 {
		case 5:
			fmt.Fprintf(&b, "  bad%d: {type: math.nope}\n", i)
		case 6:
			fmt.Fprintf(&b, "  ref%d: {type: math.inc, inputs: {x: missing%d}}\n", i, i)
		case 7:
			fmt.Fprintf(&b, "  out%d: {type: math.inc, inputs: {x: n%d.outt}}\n", i, i-1)
		case 8:
			fmt.Fprintf(&b, "  val%d: {type: math.inc, with: {x: 1}, defaults: {x: \"one\"}}\n", i)
		case 9:
			fmt.Fprintf(&b, "  brk%d: {type: math.inc, inputs: {x: bad%d}, after: [brk%d, n%d]}\n", i, i-4, i, i+500)
		case 10:
			fmt.Fprintf(&b, "  c%d: {type: math.add, inputs: {a: c%d, b: n%d}}\n", i, i, i)
		case 11:
			fmt.Fprintf(&b, "  s%d: {type: sub.yaml, inputs: {y: n1}}\n  t%d: {type: math.inc, inputs: {x: s%d.nope}}\n", i, i, i)
		}
	}
	return []byte(b.String())
}

// dumpLoad writes everything a load gives: its errors, or every field of
// every node and binding.
func dumpLoad(flow *graph.Flow, err error) string {
	if err != nil {
		return render(nil, err)
	}
	var b strings.Builder
	b.WriteString("ok\n")
	for i, n := range flow.Nodes {
		fmt.Fprintf(&b, "%d %s %s %s %s %d %s %v %d %q %v\n", i, n.ID, n.Type, n.Pos, n.TypePos(), n.Index, n.OnError, n.Retry, n.MaxGenerations, n.Placement, n.Params)
		for _, bs := range [][]*graph.Binding{n.Inputs, n.After} {
			for _, in := range bs {
				fmt.Fprintf(&b, "  %s %+v %d %s %#v %v %#v %v %v %s %s\n", in.Name, *in.Spec, in.Kind, in.From, in.Value, in.HasDefault, in.Default, in.Stream, in.Seeded, in.Pos, in.DefaultPos)
			}
		}
		if flow.Node(n.ID) != n {
			fmt.Fprintf(&b, "  Node(%q) is not the node\n", n.ID)
		}
	}
	fmt.Fprintf(&b, "outputs %v\n", flow.Outputs)
	return b.String()
}

// firstDiff returns the first differing line of a and b.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n%s\nwant\n%s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}
