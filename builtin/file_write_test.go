package builtin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestFileWrite(t *testing.T) {
	dir := t.TempDir()
	spec := lookup(t, "file.write")
	write := func(params map[string]any, content any) {
		t.Helper()
		n := nodetest.New(t, spec, nodetest.Setup{Dir: dir, Params: params})
		checkResult(t, n.Run(t, nodetest.In{Values: map[string]any{"path": "out.txt", "content": content}}), "out.txt", "")
	}
	read := func() string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, "out.txt"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	write(nil, "first")
	write(nil, "second")
	if got := read(); got != "second" {
		t.Errorf("after replacing: %q, want second", got)
	}
	lines := map[string]any{"append": true, "newline": true}
	write(lines, map[string]any{"a": 1})
	write(lines, []any{"x"})
	if got, want := read(), "second{\"a\":1}\n[\"x\"]\n"; got != want {
		t.Errorf("after appending: %q, want %q", got, want)
	}

	n := nodetest.New(t, spec, nodetest.Setup{Dir: dir})
	res := n.Run(t, nodetest.In{Values: map[string]any{"path": "no/such/dir.txt", "content": "x"}})
	checkResult(t, res, nil, `cannot write file "no/such/dir.txt": no such file or directory`)
	res = n.Run(t, nodetest.In{Values: map[string]any{"path": nil, "content": "x"}})
	checkResult(t, res, nil, `input "path": want a string, got null`)
	wantParamError(t, buildErr(t, "file.write", nodetest.Setup{Params: map[string]any{"append": "yes"}}), "append", "want a boolean")
}
