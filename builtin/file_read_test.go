package builtin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestFileRead(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"notes.txt": "line 1\r\nline 2\n", "data.json": `{"n": 3}`, "bad.json": `{`}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		format  string
		path    string
		want    any
		wantErr string
	}{
		{name: "text", format: "text", path: "notes.txt", want: "line 1\r\nline 2\n"},
		{name: "lines", format: "lines", path: "notes.txt", want: []any{"line 1", "line 2"}},
		{name: "json", format: "json", path: "data.json", want: map[string]any{"n": 3}},
		{name: "absolute", format: "text", path: filepath.Join(dir, "notes.txt"), want: "line 1\r\nline 2\n"},
		{name: "missing", format: "text", path: "nope.txt", wantErr: `cannot read file "nope.txt": no such file or directory`},
		{name: "a directory", format: "text", path: ".", wantErr: `cannot read file ".": is a directory`},
		{name: "bad json", format: "json", path: "bad.json", wantErr: `file "bad.json": invalid JSON: unexpected end of input`},
	}
	spec := lookup(t, "file.read")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Dir: dir, Params: map[string]any{"format": tt.format}})
			checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"path": tt.path}}), tt.want, tt.wantErr)
		})
	}
	wantParamError(t, buildErr(t, "file.read", nodetest.Setup{Params: map[string]any{"format": "yaml"}}), "format", `want one of text, json, lines, got string "yaml"`)
}
