package flowtest_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/flowcli"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the want sections of testdata/*.txtar from what flowrun test prints")

// TestGolden runs "flowrun test" on the files of each testdata/*.txtar
// archive and compares its output, exit code and, after --update, the
// rewritten files with the archive's want sections.
//
// The archive's comment holds "args: ..." (the command's arguments, $DIR
// standing for the directory the files are written to) and "exit: N".
// Sections named want-stdout and want/FILE hold what is expected; every
// other section is a file. Durations print as 0s (text) and 0 (json).
func TestGolden(t *testing.T) {
	archives, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no golden archives: %v", err)
	}
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			runGolden(t, path)
		})
	}
}

var (
	durationText = regexp.MustCompile(`\(\d+(\.\d+)?(ns|µs|ms|s)\)`)
	durationJSON = regexp.MustCompile(`"duration_ms": [0-9.e-]+`)
	durationXML  = regexp.MustCompile(`time="[0-9.]+"`)
)

func runGolden(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var args []string
	wantExit := 0
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		switch {
		case strings.HasPrefix(line, "args:"):
			args = strings.Fields(strings.TrimPrefix(line, "args:"))
		case strings.HasPrefix(line, "exit:"):
			wantExit, err = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "exit:")))
			if err != nil {
				t.Fatalf("bad exit line %q", line)
			}
		}
	}
	want := map[string]string{}
	for _, f := range ar.Files {
		if f.Name == "want-stdout" || strings.HasPrefix(f.Name, "want/") {
			want[f.Name] = string(f.Data)
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	var stdout, stderr bytes.Buffer
	code := flowcli.Main(t.Context(), append([]string{"flowrun", "test"}, args...), nil, strings.NewReader(""), &stdout, &stderr)
	got := map[string]string{"want-stdout": normalize(stdout.String(), dir)}
	for name := range want {
		if file, ok := strings.CutPrefix(name, "want/"); ok {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
			if err != nil {
				t.Fatal(err)
			}
			got[name] = string(data)
		}
	}
	if *updateGolden {
		for i, f := range ar.Files {
			if g, ok := got[f.Name]; ok {
				ar.Files[i].Data = []byte(g)
			}
		}
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if code != wantExit {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantExit, stdout.String(), stderr.String())
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s differs (go test ./flowtest -run TestGolden -update-golden rewrites it)\ngot:\n%s\nwant:\n%s", name, got[name], w)
		}
	}
}

func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "$DIR")
	s = durationText.ReplaceAllString(s, "(0s)")
	s = durationJSON.ReplaceAllString(s, `"duration_ms": 0`)
	return durationXML.ReplaceAllString(s, `time="0"`)
}
