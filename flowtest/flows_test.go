package flowtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/registry"
)

// TestFlows runs the test file of every flow in flows/ (make test also
// runs them through "flowrun test flows/"), and checks that every flow
// has one.
func TestFlows(t *testing.T) {
	flows, err := filepath.Glob("../flows/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, flowtest.Options{})
	for _, flow := range flows {
		if strings.HasSuffix(flow, "_test.yaml") {
			continue
		}
		test := strings.TrimSuffix(flow, ".yaml") + "_test.yaml"
		t.Run(filepath.Base(flow), func(t *testing.T) {
			fr := r.RunFile(t.Context(), test)
			if fr.IOError != nil {
				t.Fatalf("every flow needs a test file: %v", fr.IOError)
			}
			for _, e := range fr.Errors {
				t.Error(e)
			}
			for _, c := range fr.Cases {
				for _, f := range c.Failures {
					t.Error(f)
				}
			}
			if len(fr.Cases) == 0 && len(fr.Errors) == 0 {
				t.Errorf("%s has no case", test)
			}
		})
	}
}

func newRunner(t *testing.T, opts flowtest.Options) *flowtest.Runner {
	t.Helper()
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	opts.Registry = reg
	r, err := flowtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMutatedFlowFails changes `by: 2` to `by: 3` in a copy of
// flows/loop.yaml: its test must fail, at the position of the expected
// value in flows/loop_test.yaml.
func TestMutatedFlowFails(t *testing.T) {
	dir := t.TempDir()
	flow, err := os.ReadFile("../flows/loop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	test, err := os.ReadFile("../flows/loop_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mutated := strings.Replace(string(flow), "with: {by: 2}", "with: {by: 3}", 1)
	if mutated == string(flow) {
		t.Fatal("flows/loop.yaml no longer has `with: {by: 2}`: update this test")
	}
	if err := os.WriteFile(filepath.Join(dir, "loop.yaml"), []byte(mutated), 0o644); err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(dir, "loop_test.yaml")
	if err := os.WriteFile(testFile, test, 0o644); err != nil {
		t.Fatal(err)
	}
	// Where the expected final value of a.out is written.
	var want string
	for i, line := range strings.Split(string(test), "\n") {
		if k := strings.Index(line, "a.out: "); k >= 0 && !strings.Contains(line, "[") {
			want = fmt.Sprintf("%s:%d:%d: case ", testFile, i+1, k+len("a.out: ")+1)
			break
		}
	}
	if want == "" {
		t.Fatal("flows/loop_test.yaml no longer expects a final a.out: update this test")
	}
	fr := newRunner(t, flowtest.Options{}).RunFile(t.Context(), testFile)
	var msgs []string
	for _, c := range fr.Cases {
		for _, f := range c.Failures {
			msgs = append(msgs, f.Error())
		}
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, want) && strings.Contains(m, "final a.out: expected") }) {
		t.Fatalf("the mutated flow's test did not fail at %s...; failures:\n%s", want, strings.Join(msgs, "\n"))
	}
}
