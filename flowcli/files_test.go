package flowcli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeTree creates files (path: content) under a new directory and
// returns it.
func makeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFlowFiles(t *testing.T) {
	t.Parallel()
	dir := makeTree(t, map[string]string{
		"a.yaml":                "nodes: {}\n",
		"b.yml":                 "nodes: {}\n",
		"notes.txt":             "not a flow\n",
		"sub/c.yaml":            "nodes: {}\n",
		"sub/deep/d.yaml":       "nodes: {}\n",
		"sub/ignored.yaml":      "# flowrun: ignore\nnot: a flow\n",
		".hidden/e.yaml":        "nodes: {}\n",
		"node_modules/f.yaml":   "nodes: {}\n",
		"empty/readme.md":       "",
		"explicit-ignored.yaml": "# flowrun: ignore\n",
	})
	rel := func(files []string) []string {
		var out []string
		for _, f := range files {
			r, err := filepath.Rel(dir, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	at := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"directory skips ignored files, dot dirs and node_modules", []string{at(".")}, []string{"a.yaml", "b.yml", "sub/c.yaml", "sub/deep/d.yaml"}, ""},
		{"subdirectory", []string{at("sub")}, []string{"sub/c.yaml", "sub/deep/d.yaml"}, ""},
		{"glob", []string{at("*.y*ml")}, []string{"a.yaml", "b.yml"}, ""},
		{"double star", []string{at("**/*.yaml")}, []string{"a.yaml", "sub/c.yaml", "sub/deep/d.yaml"}, ""},
		{"double star in the middle", []string{at("sub/**/d.yaml")}, []string{"sub/deep/d.yaml"}, ""},
		{"explicit file is checked even when ignored", []string{at("explicit-ignored.yaml")}, []string{"explicit-ignored.yaml"}, ""},
		{"explicit file of any name", []string{at("notes.txt")}, []string{"notes.txt"}, ""},
		{"missing file is passed on", []string{at("missing.yaml")}, []string{"missing.yaml"}, ""},
		{"duplicates removed", []string{at("a.yaml"), at("*.yaml")}, []string{"a.yaml"}, ""},
		{"glob without match", []string{at("*.json")}, nil, "no flow files match"},
		{"directory without flows", []string{at("empty")}, nil, "no flow files (*.yaml, *.yml) in directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := flowFiles(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("flowFiles error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("flowFiles: %v", err)
			}
			if g := rel(got); !slices.Equal(g, tt.want) {
				t.Errorf("flowFiles(%v) = %v, want %v", tt.args, g, tt.want)
			}
		})
	}
}
