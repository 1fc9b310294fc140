package flowcli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/graph"
)

// TestTestSnippets renders a failed expectation and an invalid test file
// as on a terminal: each message is followed by its source line, marked,
// from the files the runner read.
func TestTestSnippets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("one.yaml", "version: 1\nnodes:\n  a: {type: value.const, with: {value: 1}}\n")
	good := write("one_test.yaml", "cases:\n  - name: wrong\n    expect:\n      final: {a: 2}\n")
	bad := write("two_test.yaml", "flow: one.yaml\ncases:\n  - name: typo\n    expcet: {}\n")
	p := &program{getenv: func(string) string { return "" }}
	reg, err := p.newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	r, err := flowtest.New(flowtest.Options{Registry: reg, Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	results := []*flowtest.FileResult{r.RunFile(t.Context(), good), r.RunFile(t.Context(), bad)}
	var out bytes.Buffer
	st := style{snippet: true}
	diag := func(w io.Writer, fr *flowtest.FileResult, e *graph.Error) {
		writeDiagnostics(w, graph.ErrorList{e}, sources(fr.Sources), st)
	}
	if err := flowtest.ReportText(&out, results, false, diag); err != nil {
		t.Fatal(err)
	}
	want := good + `:4:18: case "wrong": final a.out: expected 2, got 1
  3 |     expect:
> 4 |       final: {a: 2}
    |                  ^
` + bad + `:4:5: unknown key "expcet" in cases[0] (did you mean "expect"?): use description, env, expect, flow, max_generations, mocks, name, set, stdin, timeout
  3 |   - name: typo
> 4 |     expcet: {}
    |     ^
FAIL: 0 passed, 1 failed in 2 files (1 invalid)
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colour without style.color")
	}
}
