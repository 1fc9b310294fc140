package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/internal/testenv"
	"github.com/flowrun/flowrun/registry"
)

// exampleRuns says how to run each example flow in flows/ and what its
// output must contain. Every flow in flows/ must be listed: a new example
// gets its run here, so that examples cannot rot.
var exampleRuns = map[string]struct {
	args  []string
	stdin string
	env   map[string]string // values may name "{tmp}" and "{server}"
	want  []string
}{
	"report.yaml": {
		env:  map[string]string{"FLOWRUN_REPORT": "{tmp}/report.txt"},
		want: []string{"Flowrun Falcons - season report: 70 points in 3 games, 23.3 on average (coach AL)\n"},
	},
	"countdown.yaml": {
		want: []string{"5\n4\n3\n2\n1\n0\n"},
	},
	"http-json.yaml": {
		env:  map[string]string{"FLOWRUN_QUOTE_URL": "{server}/quote.json"},
		want: []string{"Streams flow.\n"},
	},
	"loop.yaml": {
		args: []string{"--max-generations", "a=5", "--print-final", "json"},
		want: []string{`"a": {`, `"out": 31`, `"out": 62`},
	},
	"text-pipeline.yaml": {
		want: []string{"STREAMS FLOW CHUNK BY CHUNK.\nCONSUMERS READ AS THEY ARRIVE!\nDONE?\n"},
	},
	"exec-python.yaml": {
		want: []string{"the 8\nsat 3\n"},
	},
}

func TestExampleFlows(t *testing.T) {
	all, err := filepath.Glob("../flows/*.yaml")
	if err != nil || len(all) == 0 {
		t.Fatalf("no example flows: %v", err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_test.yaml") { // run by flowtest.TestFlows
			files = append(files, f)
		}
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"flowrun", "validate"}, files...)
	if code := flowcli.Main(t.Context(), args, nil, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("flowrun validate flows/: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, file := range files {
		name := filepath.Base(file)
		if strings.HasPrefix(name, "chatbot") {
			continue // run against a fake LLM server by the chatbot tests
		}
		run, ok := exampleRuns[name]
		if !ok {
			t.Errorf("flows/%s has no entry in exampleRuns", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"quote": "Streams flow.", "path": "`+r.URL.Path+`"}`)
			}))
			defer server.Close()
			for k, v := range run.env {
				t.Setenv(k, strings.NewReplacer("{tmp}", tmp, "{server}", server.URL).Replace(v))
			}
			if _, err := exec.LookPath("python3"); err != nil && name == "exec-python.yaml" {
				testenv.Missing(t, "python3 is not installed")
			}
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"flowrun", "run"}, run.args...), file)
			code := flowcli.Main(t.Context(), args, nil, strings.NewReader(run.stdin), &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
			}
			for _, w := range run.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

// TestEveryTypeIsUsed checks that every built-in node type appears in an
// example flow or a conformance case, so that each is shown working end
// to end.
func TestEveryTypeIsUsed(t *testing.T) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	typeLine := regexp.MustCompile(`(?m)\btype:\s*([a-z][a-z0-9_.]*)\s*[,}\n]`)
	for _, pattern := range []string{"../flows/*.yaml", "testdata/conformance/*.txtar"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range typeLine.FindAllStringSubmatch(string(data), -1) {
				used[m[1]] = true
			}
		}
	}
	for _, typ := range reg.Types() {
		if !used[typ] {
			t.Errorf("type %s is used by no example flow and no conformance case", typ)
		}
	}
}
