package flowcli

import (
	"bytes"
	"strings"
	"testing"
)

// TestMainConcurrent runs Main from several goroutines at once: it must not
// share state between runs (the race detector checks), as the conformance
// tests call it in parallel.
func TestMainConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     string
		code     int
		inStdout string
		inStderr string
	}{
		{"flowrun --help", ExitOK, "Exit codes:", ""},
		{"flowrun -v", ExitOK, "flowrun version ", ""},
		{"flowrun run --help", ExitOK, "--max-generations", ""},
		{"flowrun help validate", ExitOK, "flowrun validate", ""},
		{"flowrun validate -h", ExitOK, "--format", ""},
		{"flowrun nodes", ExitOK, "", ""},
		{"flowrun", ExitUsage, "", "USAGE:"},
		{"flowrun valdate x.yaml", ExitUsage, "", `did you mean "validate"`},
		{"flowrun run --frobnicate x.yaml", ExitUsage, "", "flag provided but not defined: -frobnicate"},
		{"flowrun help nope", ExitUsage, "", `unknown command "nope"`},
		{"flowrun run does-not-exist.yaml", ExitFailure, "", "does-not-exist.yaml: no such file or directory"},
		{"flowrun test --help", ExitOK, "--update", ""},
		{"flowrun schema --test", ExitOK, `"title": "flowrun test file"`, ""},
		{"flowrun test --format xml", ExitUsage, "", `--format "xml": want text or json or junit or github`},
		{"flowrun test --run ( .", ExitUsage, "", `--run "("`},
		{"flowrun test does-not-exist", ExitUsage, "does-not-exist: no such file or directory\nFAIL: 0 passed, 0 failed in 1 file (1 invalid)", ""},
		{"flowrun test ../flows/loop.yaml", ExitOK, "PASS: 2 passed", ""},
	}
	for range 3 {
		for _, tt := range tests {
			t.Run(tt.args, func(t *testing.T) {
				t.Parallel()
				var stdout, stderr bytes.Buffer
				code := Main(t.Context(), strings.Fields(tt.args), nil, strings.NewReader(""), &stdout, &stderr)
				if code != tt.code {
					t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
				}
				if !strings.Contains(stdout.String(), tt.inStdout) {
					t.Errorf("stdout lacks %q:\n%s", tt.inStdout, stdout.String())
				}
				if !strings.Contains(stderr.String(), tt.inStderr) {
					t.Errorf("stderr lacks %q:\n%s", tt.inStderr, stderr.String())
				}
			})
		}
	}
}
