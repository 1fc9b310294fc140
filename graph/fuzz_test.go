package graph_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowrun/flowrun/graph"
)

// FuzzLoad checks that Load never panics, that every error is an
// ErrorList, and that every error's position lies inside flow.yaml (or
// has none, for a problem with the whole file).
func FuzzLoad(f *testing.F) {
	for _, src := range seeds(f) {
		f.Add(src)
	}
	reg := testRegistry()
	env := map[string]string{"HOME": "/home/x", "N": "3"}
	// A 256 KiB size limit (8,192 values) lets the committed corpus hold
	// files past the limits: too large, too many values, alias bombs.
	opts := graph.Options{Getenv: func(k string) string { return env[k] }, MaxFileSize: 256 << 10}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := graph.Load("flow.yaml", src, reg, opts)
		if err == nil {
			return
		}
		var list graph.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("Load returned %T, not an ErrorList: %v", err, err)
		}
		if len(list) == 0 {
			t.Fatal("Load returned an empty ErrorList")
		}
		lines := bytes.Count(src, []byte("\n")) + 1
		for _, e := range list {
			if e.Pos.File != "flow.yaml" {
				t.Errorf("error in file %q, want flow.yaml: %v", e.Pos.File, e)
			}
			if e.Pos.Line < 0 || e.Pos.Line > lines || e.Pos.Col < 0 {
				t.Errorf("error at %s, outside the file's %d lines: %v", e.Pos, lines, e)
			}
		}
	})
}

// seeds returns the flow.yaml of every loader test case and every flow
// in flows/.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	cases, _ := filepath.Glob("testdata/load/*.txtar")
	for _, c := range cases {
		data, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range parseArchive(data).files {
			if file.name == "flow.yaml" {
				out = append(out, file.data)
			}
		}
	}
	flows, _ := filepath.Glob("../flows/*.yaml")
	for _, fl := range flows {
		data, err := os.ReadFile(fl)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}
