package graph_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/graph"
)

// loadErr loads src and returns its only error.
func loadErr(t *testing.T, src string, opts graph.Options) *graph.Error {
	t.Helper()
	_, err := graph.Load("flow.yaml", []byte(src), testRegistry(), opts)
	var list graph.ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	return list[0]
}

// TestAliasBytes: a 100 KB string aliased 10,000 times is refused at the
// alias that makes aliases add more than 4 MiB, the 42nd.
func TestAliasBytes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: bomb\nx-big: &big %s\nnodes:\n", strings.Repeat("a", 100_000))
	for i := range 10_000 {
		fmt.Fprintf(&b, "  n%d: {type: math.inc, with: {x: *big}}\n", i)
	}
	e := loadErr(t, b.String(), graph.Options{})
	if want := (graph.Pos{File: "flow.yaml", Line: 4 + 42, Col: 35}); e.Pos != want {
		t.Errorf("error at %v, want %v (the 42nd alias)", e.Pos, want)
	}
	if !strings.Contains(e.Msg, "alias *big repeats values until aliases have added more than 4 MiB") {
		t.Errorf("got %q", e.Msg)
	}
}

// TestAliasBytesFileSize: aliases may add as much as the file's own size
// when that is more than 4 MiB.
func TestAliasBytesFileSize(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: ok\nx-big: &big %s\nnodes:\n  a: {type: math.inc, with: {x: 1}}\nx-copies: [", strings.Repeat("a", 5<<20))
	b.WriteString("*big]\n")
	_, err := graph.Load("flow.yaml", []byte(b.String()), testRegistry(), graph.Options{})
	if err != nil && strings.Contains(err.Error(), "alias") {
		t.Errorf("5 MiB added by aliases to a 5 MiB file: %v", err)
	}
	b.Reset()
	fmt.Fprintf(&b, "version: 1\nname: ok\nx-big: &big %s\nnodes:\n  a: {type: math.inc, with: {x: 1}}\nx-copies: [", strings.Repeat("a", 5<<20))
	b.WriteString("*big, *big]\n")
	e := loadErr(t, b.String(), graph.Options{})
	if !strings.Contains(e.Msg, "alias *big") || e.Pos.Line != 6 || e.Pos.Col != 18 {
		t.Errorf("got %v, want the second alias refused", e)
	}
}

// TestAliasValues: an alias bomb of small values is refused at the alias
// that crosses the value limit, saying so.
func TestAliasValues(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: laughs
a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
nodes:
  a: {type: math.inc, with: {x: 1}}
`
	e := loadErr(t, src, graph.Options{})
	// The anchor f's own definition already expands past the limit.
	if e.Pos.Line != 8 || !strings.HasPrefix(e.Msg, "alias *e repeats values until the document has more than 1048576 values") {
		t.Errorf("got %v", e)
	}
}

// TestManyValues: a file with more values than its size limit allows,
// and no alias, says so (and not that aliases are to blame).
func TestManyValues(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("version: 1\nname: big\nnodes:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  n%d: {type: math.inc, with: {x: %d}}\n", i, i)
	}
	e := loadErr(t, b.String(), graph.Options{MaxFileSize: 64 << 10})
	want := "the file has more than 2048 values (mappings, lists and scalars), the most a flow file may have under its 64 KiB size limit (one per 32 bytes): split the flow into subflows, or raise the limit (--max-file-size)"
	if e.Msg != want {
		t.Errorf("got  %q\nwant %q", e.Msg, want)
	}
}

// TestFileTooLarge: a file over the limit is refused before parsing, by
// Load and by ReadFile, which stops reading at the limit (even on an
// endless file).
func TestFileTooLarge(t *testing.T) {
	t.Parallel()
	src := "version: 1\nnodes: {}\n" + strings.Repeat("# padding\n", 200)
	e := loadErr(t, src, graph.Options{MaxFileSize: 1000})
	want := "the file is 2.0 KiB, larger than the 1000 bytes limit for flow files: nothing was parsed; split the flow into subflows, or raise the limit (--max-file-size)"
	if e.Msg != want || e.Pos != (graph.Pos{File: "flow.yaml"}) {
		t.Errorf("got %v\nwant %s", e, want)
	}

	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := graph.ReadFile(path, 1000); err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("ReadFile: got %v", err)
	}
	if got, err := graph.ReadFile(path, 4000); err != nil || string(got) != src {
		t.Errorf("ReadFile under the limit: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := graph.ReadFile("/dev/zero", 1<<20)
		if err == nil || !strings.Contains(err.Error(), "the file is more than 1 MiB, larger than the 1 MiB limit") {
			t.Errorf("ReadFile(/dev/zero): got %v", err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{100: "100 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 32 << 20: "32 MiB", 50_000_000: "47.7 MiB", 3 << 30: "3 GiB"} {
		if got := graph.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
