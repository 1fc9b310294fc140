package flowtest_test

import (
	"path/filepath"
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
