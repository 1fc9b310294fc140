package editor_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ajvResult is the verdict of ajv-strict.mjs on one document.
type ajvResult struct {
	File   string   `json:"file"`
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors"`
}

// runAjv compiles schema with Ajv in strict mode and validates docs
// against it. It returns the verdicts by file, or the error output and
// false when the schema does not compile.
func runAjv(t *testing.T, schema string, docs ...string) (map[string]ajvResult, string, bool) {
	t.Helper()
	node := requireNode(t)
	requirePackage(t, "ajv")
	requirePackage(t, "yaml")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(node, append([]string{"ajv-strict.mjs", schema}, docs...)...)
	cmd.Dir = editorDir(t)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return nil, stderr.String(), false
	}
	if err != nil {
		t.Fatalf("node ajv-strict.mjs %s: %v\n%s", schema, err, stderr.String())
	}
	out := map[string]ajvResult{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r ajvResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("ajv-strict.mjs printed %q: %v", sc.Text(), err)
		}
		out[r.File] = r
	}
	if len(out) != len(docs) {
		t.Fatalf("ajv-strict.mjs gave %d verdicts for %d documents:\n%s%s", len(out), len(docs), stdout.String(), stderr.String())
	}
	return out, "", true
}

// TestSchemasUnderAjvStrict compiles every schema flowrun ships
// (schema/*.schema.json) with a second implementation, Ajv 8 in strict
// mode, and checks that it agrees with flowrun on the example files and
// the broken flows.
func TestSchemasUnderAjvStrict(t *testing.T) {
	t.Parallel()
	schemas, err := filepath.Glob(filepath.Join(repoRoot(t), "schema", "*.schema.json"))
	if err != nil || len(schemas) == 0 {
		t.Fatalf("no schemas in schema/: %v", err)
	}
	bySchema := map[string][]string{}
	for f, s := range exampleFiles(t) {
		bySchema[s] = append(bySchema[s], f)
	}
	for _, s := range schemas {
		t.Run(filepath.Base(s), func(t *testing.T) {
			t.Parallel()
			res, msg, ok := runAjv(t, s, bySchema[s]...)
			if !ok {
				t.Fatalf("Ajv in strict mode refuses %s:\n%s", filepath.Base(s), msg)
			}
			for _, r := range res {
				if !r.Valid {
					t.Errorf("%s is invalid under Ajv:\n  %s", filepath.Base(r.File), strings.Join(r.Errors, "\n  "))
				}
			}
		})
	}

	t.Run("broken flows", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var docs []string
		for i, tt := range brokenFlows {
			path := filepath.Join(dir, fmt.Sprintf("broken-%02d.yaml", i))
			if err := os.WriteFile(path, []byte(tt.flow), 0o644); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, path)
		}
		res, msg, ok := runAjv(t, filepath.Join(repoRoot(t), "schema", "flow.schema.json"), docs...)
		if !ok {
			t.Fatalf("Ajv in strict mode refuses flow.schema.json:\n%s", msg)
		}
		for i, tt := range brokenFlows {
			if res[docs[i]].Valid {
				t.Errorf("%s: Ajv finds nothing wrong in\n%s", tt.name, tt.flow)
			}
		}
	})

	// The check can fail: a schema that strict mode refuses.
	t.Run("strict mode refuses", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "loose.schema.json")
		loose := `{"$schema": "http://json-schema.org/draft-07/schema#", "allOf": [{"if": {"required": ["type"]}, "then": {"required": ["x"]}}]}`
		if err := os.WriteFile(path, []byte(loose), 0o644); err != nil {
			t.Fatal(err)
		}
		_, msg, ok := runAjv(t, path)
		if ok || !strings.Contains(msg, "strictTypes") {
			t.Errorf("Ajv compiled %s, or refused it for another reason: %q", loose, msg)
		}
	})
}
