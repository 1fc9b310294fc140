package tests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileFlowsRefusedCheaply runs the hostile flow files
// through the flowrun command and checks each is refused with a message
// that says what happened, with a small peak RSS (read from the child's
// rusage): a 160 KB flow aliasing a 100 KB string 10,000 times (it took
// 3.4 GB in 20 s under run --print-final json), and a 48 MiB flow of
// 250,000 value.const nodes (12 s, 912 MB, and a message blaming aliases).
func TestHostileFlowsRefusedCheaply(t *testing.T) {
	flowrun, err := exec.LookPath("flowrun")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var alias strings.Builder
	fmt.Fprintf(&alias, "version: 1\nname: alias\nnodes:\n  a: {type: value.const, with: {value: &big %s}}\n", strings.Repeat("a", 100_000))
	alias.WriteString("  c: {type: value.const, with: {value: [" + strings.Repeat("*big, ", 9_999) + "*big]}}\n")
	if err := os.WriteFile(filepath.Join(dir, "alias.yaml"), []byte(alias.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "consts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("version: 1\nname: consts\nnodes:\n")
	pad := strings.Repeat("x", 148)
	for i := range 250_000 {
		fmt.Fprintf(w, "  node%06d: {type: value.const, with: {value: %q}}\n", i, pad)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		want   string
		maxRSS int64 // KiB
	}{
		{[]string{"run", "--print-final", "json", "alias.yaml"},
			"alias.yaml:5:287: alias *big repeats values until aliases have added more than 4 MiB to the document", 100 << 10},
		{[]string{"validate", "alias.yaml"}, "alias.yaml:5:287: alias *big", 100 << 10},
		{[]string{"validate", "consts.yaml"},
			"consts.yaml: the file is 47.9 MiB, larger than the 32 MiB limit for flow files: nothing was parsed", 64 << 10},
		{[]string{"run", "consts.yaml"}, "consts.yaml: the file is 47.9 MiB", 64 << 10},
	} {
		var out bytes.Buffer
		args := append([]string{flowrun}, tc.args...)
		args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
		rss, err := runPeakRSS(t, &out, &out, args...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("flowrun %v: %v, want exit status 2\n%s", tc.args, err, out.Bytes())
			continue
		}
		if !bytes.Contains(out.Bytes(), []byte(tc.want)) {
			t.Errorf("flowrun %v:\n%s\nwant %q", tc.args, out.Bytes(), tc.want)
		}
		t.Logf("flowrun %v: peak RSS %d KiB", tc.args, rss)
		if rss > tc.maxRSS {
			t.Errorf("flowrun %v: peak RSS %d KiB, want at most %d", tc.args, rss, tc.maxRSS)
		}
	}
}
