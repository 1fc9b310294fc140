package graph

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileWithin(t *testing.T) {
	base := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("outside/x.yaml", "outside")
	write("proj/lib/y.yaml", "inside")
	if err := os.Symlink(filepath.Join(base, "outside", "x.yaml"), filepath.Join(base, "proj", "lib", "out.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "proj", "lib", "y.yaml"), filepath.Join(base, "proj", "lib", "in.yaml")); err != nil {
		t.Fatal(err)
	}
	// A root reached through a symbolic link works like the directory.
	if err := os.Symlink(filepath.Join(base, "proj"), filepath.Join(base, "projlink")); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{filepath.Join(base, "proj"), filepath.Join(base, "projlink")} {
		read, err := ReadFileWithin(root)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			path    string
			want    string // content, or "" for outside
			viaLink bool
		}{
			{filepath.Join(root, "flows", "..", "lib", "y.yaml"), "inside", false},
			{filepath.Join(root, "lib", "in.yaml"), "inside", false},
			{filepath.Join(root, "..", "outside", "x.yaml"), "", false},
			{filepath.Join(base, "outside", "x.yaml"), "", false},
			{filepath.Join(root, "lib", "out.yaml"), "", true},
		}
		for _, tt := range tests {
			got, err := read(tt.path)
			if tt.want != "" {
				if err != nil || string(got) != tt.want {
					t.Errorf("read(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
				}
				continue
			}
			var out *OutsideRootError
			if !errors.As(err, &out) || got != nil {
				t.Errorf("read(%s) = %q, %v; want an OutsideRootError", tt.path, got, err)
				continue
			}
			if (out.Link != "") != tt.viaLink {
				t.Errorf("read(%s): Link = %q, want a link %v", tt.path, out.Link, tt.viaLink)
			}
		}
	}
	if _, err := ReadFileWithin(filepath.Join(base, "missing")); err == nil {
		t.Error("ReadFileWithin of a missing root: no error")
	}
}

func TestLoadSubflowOutsideRoot(t *testing.T) {
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "x.yaml"), []byte("nodes: {a: {type: nope}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(base, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	read, err := ReadFileWithin(proj)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(proj, "flow.yaml")
	_, err = Load(file, []byte("nodes:\n  s:\n    type: ../x.yaml\n"), nil, Options{ReadFile: read})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("err = %v, want one error", err)
	}
	if e := list[0]; e.Pos.File != file || e.Pos.Line != 3 || e.Pos.Col != 11 || !strings.Contains(e.Msg, "outside the root") {
		t.Errorf("error at %v, want %s:3:11: %s", e.Pos, file, e.Msg)
	}
}
