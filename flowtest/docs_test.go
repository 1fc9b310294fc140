package flowtest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/flowtest"
)

// TestDocExamples runs the test files shown in README.md and
// docs/testing.md against the flows they name (the last FLOW_test.yaml
// the text mentions before the example), so that the documentation shows
// tests that pass.
func TestDocExamples(t *testing.T) {
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	mention := regexp.MustCompile(`([a-z][a-z0-9-]*)_test\.yaml`)
	r := newRunner(t, flowtest.Options{})
	n := 0
	for _, doc := range []string{"../README.md", "../docs/testing.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range block.FindAllStringSubmatchIndex(text, -1) {
			body := text[m[2]:m[3]]
			if !strings.HasPrefix(body, "cases:") && !strings.HasPrefix(body, "# yaml-language-server: $schema=../schema/flowtest.schema.json") {
				continue
			}
			names := mention.FindAllStringSubmatch(text[:m[0]], -1)
			if len(names) == 0 {
				t.Errorf("%s: the test file example at byte %d names no flow before it", doc, m[0])
				continue
			}
			flow := names[len(names)-1][1]
			n++
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join("../flows", flow+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, flow+".yaml"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, flow+"_test.yaml")
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			fr := r.RunFile(t.Context(), file)
			for _, e := range fr.Errors {
				t.Errorf("%s, example for %s: %v", doc, flow, e)
			}
			for _, c := range fr.Cases {
				for _, f := range c.Failures {
					t.Errorf("%s, example for %s: %v", doc, flow, f)
				}
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d test file examples in the docs, want at least 3", n)
	}
}
