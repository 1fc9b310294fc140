package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/internal/testenv"
)

// TestOutsideModule builds, as a user would, a flowrun of their own from
// another module (testdata/outside.txtar) with node types of its own, and
// checks that its Go tests pass with the public nodetest package and that
// validate, explain, nodes, schema, run and test all know its types.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short mode")
	}
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile("testdata/outside.txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module example.com/myflow\n\ngo 1.26\n\nrequire github.com/flowrun/flowrun v0.0.0\n\n" +
		"replace github.com/flowrun/flowrun => " + repo + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	// flowrun's go.sum covers every module the outside one needs; -mod=mod
	// lets go add the requirements to go.mod, as "go mod tidy" would.
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("vet", ".")
	goCmd("test", ".")
	goCmd("build", "-o", "flowrun", ".")

	tests := []struct {
		args   string
		stdout []string // substrings stdout must contain
	}{
		{"validate greet.yaml", nil},
		{"explain greet.hello", []string{"greet.hello: Greets someone.", `greeting  string  "Hello"     parameter`}},
		{"nodes", []string{"greet.hello", "text.spell", "math.inc"}},
		{"schema", []string{`"type:greet.hello"`, `"type:text.spell"`}},
		{"run greet.yaml", []string{"H-e-l-l-o-,- -W-o-r-l-d-!\n"}},
		{"run --set hi.greeting=Bye greet.yaml", []string{"B-y-e-,- -W-o-r-l-d-!\n"}},
		{"test greet_test.yaml", []string{"2 passed"}},
	}
	for _, tt := range tests {
		cmd := exec.Command(filepath.Join(dir, "flowrun"), strings.Fields(tt.args)...)
		cmd.Dir = dir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("flowrun %s: %v\n%s%s", tt.args, err, out, stderr.String())
			continue
		}
		for _, want := range tt.stdout {
			if !strings.Contains(string(out), want) {
				t.Errorf("flowrun %s: stdout lacks %q:\n%s", tt.args, want, out)
			}
		}
	}

	// Mistakes with the user's own types are caught before anything runs,
	// at their position: a misspelt type, a parameter of the wrong type.
	for _, bad := range []struct{ flow, want string }{
		{"nodes:\n  hi: {type: greet.helo, with: {name: x}}\n", `bad.yaml:2:14: unknown node type "greet.helo" (did you mean "greet.hello"?)`},
		{"nodes:\n  hi: {type: greet.hello, with: {name: x, greeting: 3}}\n", `bad.yaml:2:53: input "greeting" of node "hi" (greet.hello) takes a string, got the number 3`},
	} {
		if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad.flow), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(dir, "flowrun"), "validate", "bad.yaml")
		cmd.Dir = dir
		out, err := cmd.Output()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), bad.want) {
			t.Errorf("flowrun validate on %q: exit %d (%v), want 2 and %q:\n%s", bad.flow, code, err, bad.want, out)
		}
	}

	// The README shows the program as it is here.
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".go") && !strings.HasSuffix(f.Name, "_test.go") &&
			!strings.Contains(string(readme), string(f.Data)) {
			t.Errorf("README.md does not show %s as in testdata/outside.txtar", f.Name)
		}
	}
}
