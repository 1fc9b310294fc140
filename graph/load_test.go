package graph_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/graph"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/load/*.txtar")

// TestLoad runs every testdata/load/*.txtar case: flow.yaml (plus the
// subflow files it uses, an optional env section of NAME=value lines and
// an optional set section of --set entries) and the expected output: the
// errors, one per line, or "ok" and a summary of the nodes.
func TestLoad(t *testing.T) {
	files, err := filepath.Glob("testdata/load/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test cases in testdata/load")
	}
	reg := testRegistry()
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ar := parseArchive(data)
			sections := map[string][]byte{}
			for _, f := range ar.files {
				sections[f.name] = f.data
			}
			src, ok := sections["flow.yaml"]
			if !ok {
				t.Fatal("no flow.yaml section")
			}
			opts := optionsFor(sections)
			flow, err := graph.Load("flow.yaml", src, reg, opts)
			got := render(flow, err)
			if *update {
				writeWant(t, file, ar, got)
				return
			}
			if want := string(sections["want"]); got != want {
				t.Errorf("Load output:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func optionsFor(sections map[string][]byte) graph.Options {
	env := map[string]string{}
	for _, line := range strings.Split(string(sections["env"]), "\n") {
		if name, val, ok := strings.Cut(line, "="); ok {
			env[name] = val
		}
	}
	var sets []string
	for _, line := range strings.Split(string(sections["set"]), "\n") {
		if line != "" {
			sets = append(sets, line)
		}
	}
	return graph.Options{
		Getenv: func(name string) string { return env[name] },
		Set:    sets,
		ReadFile: func(path string) ([]byte, error) {
			data, ok := sections[filepath.ToSlash(path)]
			if !ok || path == "want" || path == "env" || path == "set" {
				return nil, fs.ErrNotExist
			}
			return data, nil
		},
	}
}

// render returns the errors one per line, or "ok" and one line per node.
func render(flow *graph.Flow, err error) string {
	var b strings.Builder
	if err != nil {
		var list graph.ErrorList
		if !errors.As(err, &list) {
			return "not an ErrorList: " + err.Error() + "\n"
		}
		for _, e := range list {
			b.WriteString(e.Error() + "\n")
		}
		return b.String()
	}
	b.WriteString("ok\n")
	for _, n := range flow.Nodes {
		fmt.Fprintf(&b, "%s %s %s:", n.ID, n.Type, n.Pos)
		for _, in := range n.Inputs {
			b.WriteString(" " + describeBinding(in))
		}
		for _, a := range n.After {
			fmt.Fprintf(&b, " after:%s", a.From.Node.ID)
		}
		if n.OnError != "fail" {
			fmt.Fprintf(&b, " on_error=%s", n.OnError)
		}
		if r := n.Retry; r != nil {
			fmt.Fprintf(&b, " retry=%d/%s/%s", r.Attempts, r.Delay, r.MaxDelay)
		}
		if n.MaxGenerations > 0 {
			fmt.Fprintf(&b, " max_generations=%d", n.MaxGenerations)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func describeBinding(in *graph.Binding) string {
	var s string
	switch in.Kind {
	case graph.Connected:
		s = in.Name + "<-" + in.From.String()
		if in.Stream {
			s += "~"
		}
		if in.Seeded {
			s += "[seeded]"
		}
	case graph.Constant:
		s = in.Name + "=" + jsonText(in.Value)
	case graph.Defaulted:
		return in.Name + "=default:" + jsonText(in.Value)
	}
	if in.HasDefault {
		s += "(default " + jsonText(in.Default) + ")"
	}
	return s
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func writeWant(t *testing.T, file string, ar *archive, got string) {
	t.Helper()
	found := false
	for i := range ar.files {
		if ar.files[i].name == "want" {
			ar.files[i].data = []byte(got)
			found = true
		}
	}
	if !found {
		ar.files = append(ar.files, archiveFile{name: "want", data: []byte(got)})
	}
	if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
		t.Fatal(err)
	}
}
