package editor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/schema"
)

// brokenTestFiles are test files of `flowrun test` (for flows/loop.yaml)
// with mistakes its schema can see. The language server must flag each
// where `flowrun test` does.
var brokenTestFiles = []struct {
	name string
	text string
}{
	{"no cases", "flow: loop.yaml\ndescription: nothing\n"},
	{"unknown case key", "flow: loop.yaml\ncases:\n  - name: one\n    sett: {b.by: 3}\n"},
	{"case without name", "flow: loop.yaml\ncases:\n  - max_generations: 3\n"},
	{"set key without input", "flow: loop.yaml\ncases:\n  - name: one\n    set: {b: 3}\n"},
	{"env name", "flow: loop.yaml\ncases:\n  - name: one\n    env: {1X: a}\n"},
	{"env value", "flow: loop.yaml\ncases:\n  - name: one\n    env: {X: [1]}\n"},
	{"timeout", "flow: loop.yaml\ncases:\n  - name: one\n    timeout: soon\n"},
	{"outcome", "flow: loop.yaml\ncases:\n  - name: one\n    expect:\n      outcome: {end: limt, node: a}\n"},
	{"runs", "flow: loop.yaml\ncases:\n  - name: one\n    expect:\n      runs: {a: five}\n"},
	{"stdout", "flow: loop.yaml\ncases:\n  - name: one\n    expect:\n      stdout: 3\n"},
	{"mock key", "flow: loop.yaml\ncases:\n  - name: one\n    mocks:\n      b:\n        runz: []\n"},
	{"mock output name", "flow: loop.yaml\ncases:\n  - name: one\n    mocks:\n      b:\n        outputs: {Out: 1}\n"},
	{"mock run", "flow: loop.yaml\ncases:\n  - name: one\n    mocks:\n      b:\n        runs:\n          - {stream: [{out: 1}], fail: x}\n"},
}

func TestBrokenTestFilesDiagnosticsWhereFlowrunTestReports(t *testing.T) {
	t.Parallel()
	c := startServer(t)
	dir := t.TempDir()
	loop, err := os.ReadFile(filepath.Join(repoRoot(t), "flows", "loop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loop.yaml"), loop, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tt := range brokenTestFiles {
		path := filepath.Join(dir, fmt.Sprintf("broken-%02d_test.yaml", i))
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		want, msgs := flowrunTestProblems(t, path)
		for _, m := range msgs {
			if internal.MatchString(m) {
				t.Errorf("%s: flowrun test says %q, which shows a regular expression or an internal name", tt.name, m)
			}
		}
		if len(want) == 0 {
			t.Errorf("%s: flowrun test finds nothing wrong in\n%s", tt.name, tt.text)
			continue
		}
		d := c.open(path, tt.text)
		diags := d.diagnostics()
		d.close()
		var got []string
		for _, dg := range diags {
			got = append(got, fmt.Sprintf("%d:%d", dg.Range.Start.Line+1, dg.Range.Start.Character+1))
			if internal.MatchString(dg.Message) || strings.Contains(dg.Message, "_or_") || strings.Contains(dg.Message, "mock_run") {
				t.Errorf("%s: the message %q shows an internal name or a regular expression", tt.name, dg.Message)
			}
		}
		got = uniqueSorted(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: yaml-language-server flags %v, flowrun test %v\n%s\nserver: %s", tt.name, got, want, tt.text, messages(diags))
		}
	}
}

// flowrunTestProblems runs `flowrun test --format json` on path, a test
// file that does not pass its schema, and returns the line:col of each
// problem, sorted, and the messages.
func flowrunTestProblems(t *testing.T, path string) ([]string, []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := flowcli.Main(t.Context(), []string{"flowrun", "test", "--format", "json", path}, nil, strings.NewReader(""), &stdout, &stderr)
	if code != 2 {
		t.Fatalf("flowrun test %s: exit %d, want 2 (an invalid test file)\n%s%s", path, code, stdout.String(), stderr.String())
	}
	var files []struct {
		Errors []struct {
			Line    int    `json:"line"`
			Col     int    `json:"col"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &files); err != nil {
		t.Fatalf("flowrun test --format json: %v\n%s", err, stdout.String())
	}
	var pos, msgs []string
	for _, f := range files {
		for _, e := range f.Errors {
			pos = append(pos, fmt.Sprintf("%d:%d", e.Line, e.Col))
			msgs = append(msgs, e.Message)
		}
	}
	return uniqueSorted(pos), msgs
}

// editTest is a test file being written.
const editTest = `flow: loop.yaml
cases:
  - name: one
    
    expect:
      outcome: limit
      runs: {a: 1}
      
  - name: two
    mocks:
      b:
        runs:
          - stream: [{out: x}]
            
`

func TestTestFileCompletionAndHover(t *testing.T) {
	t.Parallel()
	c := startServer(t)
	d := c.open(filepath.Join(t.TempDir(), "editing_test.yaml"), editTest)
	if diags := d.diagnostics(); len(diags) != 0 {
		t.Fatalf("the test file being edited is valid, but the server flags%s", messages(diags))
	}
	var sch struct {
		Definitions map[string]struct {
			Description string `json:"description"`
			Properties  map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(schema.CommittedTest(), &sch); err != nil {
		t.Fatal(err)
	}
	keys := func(def string, except ...string) []string {
		var k []string
		for name := range sch.Definitions[def].Properties {
			if !slices.Contains(except, name) {
				k = append(k, name)
			}
		}
		return uniqueSorted(k)
	}
	tests := []struct {
		name string
		at   string
		want []string
	}{
		{"in a case", "  - name: one\n    ", keys("case", "name", "expect")},
		{"in expect", "runs: {a: 1}\n      ", keys("expect", "outcome", "runs")},
		{"in a mock run", "stream: [{out: x}]\n            ", keys("mock_run", "stream")},
		{"at an outcome", "outcome: ", schema.Outcomes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := d.completion(d.at(tt.at))
			if got := labels(items); !slices.Equal(uniqueSorted(got), uniqueSorted(slices.Clone(tt.want))) {
				t.Errorf("completion offers %v, want %v", got, tt.want)
			}
			for _, it := range items {
				if it.doc() == "" {
					t.Errorf("%s is offered without documentation", it.Label)
				}
			}
		})
	}
	t.Run("hover on expect", func(t *testing.T) {
		h := plain(d.hover(d.at("    expe")))
		want := sch.Definitions["expect"].Description
		if want == "" || !strings.Contains(h, "#### expect\n") || !strings.Contains(h, want) {
			t.Errorf("hover on expect:\n%s\nwant the title expect and %q", h, want)
		}
	})
}
