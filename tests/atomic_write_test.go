//go:build unix

package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flowrun/flowrun/internal/atomicfile"
)

// killWriteFlow reads new.txt and writes it over out.txt.
const killWriteFlow = `version: 1
name: kill-write
nodes:
  r: {type: file.read, with: {path: new.txt}}
  w: {type: file.write, inputs: {content: r}, with: {path: out.txt}}
`

// A writeProbe watches a directory where flowrun replaces out.txt.
type writeProbe struct {
	dir      string
	old, new []byte
}

// progress returns the size of the file being written: the temporary
// file, or out.txt itself if it is being written in place; -1 when
// neither has started, and len(p.new)+1 once the temporary file has been
// renamed over out.txt.
func (p *writeProbe) progress() int64 {
	entries, _ := os.ReadDir(p.dir)
	size, temp := int64(-1), false
	for _, e := range entries {
		inPlace := e.Name() == "out.txt"
		temp = temp || atomicfile.IsTemp(e.Name())
		if atomicfile.IsTemp(e.Name()) || inPlace {
			if info, err := e.Info(); err == nil && !(inPlace && info.Size() == int64(len(p.old))) {
				size = max(size, info.Size())
			}
		}
	}
	if !temp && size == int64(len(p.new)) {
		return size + 1
	}
	return size
}

// checkTargetSize fails when out.txt, as a reader sees it now, has a size
// that is neither the old nor the new content's, and then returns false.
func (p *writeProbe) checkTargetSize(t *testing.T, when string) bool {
	info, err := os.Stat(filepath.Join(p.dir, "out.txt"))
	if err != nil {
		t.Errorf("%s: a reader finds no out.txt: %v", when, err)
		return false
	}
	if s := info.Size(); s != int64(len(p.old)) && s != int64(len(p.new)) {
		t.Errorf("%s: a reader sees out.txt with %d bytes, neither the old %d nor the new %d", when, s, len(p.old), len(p.new))
		return false
	}
	return true
}

// outcome reads out.txt and says whether it holds the old or the new
// content; anything else fails the test.
func (p *writeProbe) outcome(t *testing.T, when string) string {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(p.dir, "out.txt"))
	switch {
	case err != nil:
		t.Errorf("%s: %v", when, err)
		return "missing"
	case bytes.Equal(got, p.old):
		return "old"
	case bytes.Equal(got, p.new):
		return "new"
	}
	t.Errorf("%s: out.txt holds %d bytes, neither the whole old (%d) nor the whole new (%d) content", when, len(got), len(p.old), len(p.new))
	return "cut"
}

// temps returns the names of the temporary files in the directory.
func (p *writeProbe) temps() []string {
	entries, _ := os.ReadDir(p.dir)
	var names []string
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// cleanTemps removes temporary files a killed process left and returns
// how many there were.
func (p *writeProbe) cleanTemps(t *testing.T) int {
	entries, _ := os.ReadDir(p.dir)
	n := 0
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) {
			n++
			if err := os.Remove(filepath.Join(p.dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return n
}

// TestFileWriteSurvivesSIGKILL runs the flowrun command replacing a 32 MiB
// file and kills it with SIGKILL at many points of the write: when the
// temporary file appears and each time it has grown by another 1/16 of the
// content, polling the directory to see the progress, and once more after
// the rename. Whatever the point,
// out.txt then holds the whole old or the whole new content, and a reader
// polling it meanwhile never sees another size. Runs stopped by SIGTERM at
// the same kind of points exit 130, keep the old content and leave no
// temporary file; a run that completes leaves none either, and removes
// the one a run killed before it left.
func TestFileWriteSurvivesSIGKILL(t *testing.T) {
	flowrun, err := exec.LookPath("flowrun")
	if err != nil {
		t.Fatal(err)
	}
	p := &writeProbe{dir: t.TempDir(), old: []byte("OLD\n")}
	const size = 32 << 20
	p.new = make([]byte, size)
	for i := range p.new {
		p.new[i] = byte('a' + i/(1<<20)%26) // each MiB its own letter
	}
	for name, data := range map[string][]byte{"new.txt": p.new, "flow.yaml": []byte(killWriteFlow)} {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// run starts flowrun, waits until the file being written holds at
	// least want bytes (want < 0: do not wait) and sends sig. It returns how the
	// process ended and whether the signal was sent before it ended.
	run := func(want int64, sig syscall.Signal) (*os.ProcessState, bool) {
		if err := os.WriteFile(filepath.Join(p.dir, "out.txt"), p.old, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(flowrun, "run", "flow.yaml")
		cmd.Dir = p.dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		deadline := time.Now().Add(waitLimit)
		reader := true
		for want >= 0 && p.progress() < want {
			reader = reader && p.checkTargetSize(t, fmt.Sprintf("while writing, waiting for %d bytes", want))
			select {
			case <-done:
				return cmd.ProcessState, false // finished before that point
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				t.Fatalf("the file being written did not reach %d bytes in %v", want, waitLimit)
			}
			time.Sleep(100 * time.Microsecond) // polling interval
		}
		sent := cmd.Process.Signal(sig) == nil
		<-done
		return cmd.ProcessState, sent
	}

	const steps = 16
	counts := map[string]int{}
	left := 0
	// k == -1: at once; 0: when the temporary file exists; steps: when
	// it is complete; steps+1: after the rename.
	for k := -1; k <= steps+1; k++ {
		want := int64(k) * size / steps
		if k == steps+1 {
			want = size + 1
		}
		when := fmt.Sprintf("SIGKILL at %d bytes", want)
		_, sent := run(want, syscall.SIGKILL)
		if !sent {
			when += " (finished first)"
		}
		counts[p.outcome(t, when)]++
		left += p.cleanTemps(t)
	}
	t.Logf("SIGKILL at %d points: %d times the old content, %d times the whole new content, %d cut; %d temporary files left by the kills",
		steps+3, counts["old"], counts["new"], counts["cut"], left)

	for _, k := range []int64{0, 1, steps / 2, steps - 1} {
		want := k * size / steps
		when := fmt.Sprintf("SIGTERM at %d bytes", want)
		state, sent := run(want, syscall.SIGTERM)
		got := p.outcome(t, when)
		if sent && got == "old" && state.ExitCode() != 130 {
			t.Errorf("%s: exit code %d, want 130", when, state.ExitCode())
		}
		if n := p.cleanTemps(t); n > 0 {
			t.Errorf("%s: %d temporary files left behind", when, n)
		}
	}

	// A run killed half-way leaves its temporary file; the next run that
	// completes removes it.
	var stale []string
	for try := 0; try < 3 && len(stale) == 0; try++ {
		run(size/2, syscall.SIGKILL)
		stale = p.temps()
	}
	if len(stale) == 0 {
		t.Fatal("three runs killed half-way through the write left no temporary file")
	}
	if err := os.WriteFile(filepath.Join(p.dir, "out.txt"), p.old, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flowrun, "run", "flow.yaml")
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("complete run: %v\n%s", err, out)
	}
	if got := p.outcome(t, "complete run"); got != "new" {
		t.Errorf("complete run: out.txt holds the %s content", got)
	}
	if left := p.temps(); len(left) > 0 {
		t.Errorf("complete run after %v were left by a killed run: %v are still there", stale, left)
	}
}
