package tests

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/internal/cli"
)

// exampleRuns says how to run each example flow in flows/ and what its
// output must contain. Every flow in flows/ must be listed: a new example
// gets its run here, so that examples cannot rot.
var exampleRuns = map[string]struct {
	args  []string
	stdin string
	want  []string
}{
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
	files, err := filepath.Glob("../flows/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example flows: %v", err)
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"flowrun", "validate"}, files...)
	if code := cli.Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr); code != 0 {
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
			if _, err := exec.LookPath("python3"); err != nil && name == "exec-python.yaml" {
				t.Skip("python3 is not installed")
			}
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"flowrun", "run"}, run.args...), file)
			code := cli.Main(t.Context(), args, strings.NewReader(run.stdin), &stdout, &stderr)
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
