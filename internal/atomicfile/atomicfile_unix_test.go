//go:build unix

package atomicfile

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestWriteStringNotRegular writes to a named pipe, which cannot be renamed
// over: it is written in place and stays a pipe.
func TestWriteStringNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		got <- string(data)
	}()
	if err := WriteString(context.Background(), fifo, "through the pipe"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	fi, err := os.Lstat(fifo)
	if err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced (mode %v, err %v)", fi.Mode(), err)
	}
	noTemp(t, dir)
}

// TestWriteStringRemovesStaleTemps: a completed write removes the
// temporary files of its target left by writers that were killed (their
// process is gone), and nothing else: not the temporary files of writers
// still running, in this process or another, nor those of other targets,
// nor files whose name only looks like one.
func TestWriteStringRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	child := exec.Command(os.Args[0], "-test.run=^$")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	dead := child.Process.Pid
	if !processGone(dead) {
		t.Skipf("process %d, which ended, has an ID in use again", dead)
	}
	if processGone(os.Getppid()) || processGone(os.Getpid()) {
		t.Fatal("processGone reports a running process gone")
	}
	if pid, ok := tempPID(tempName("out.txt"), "out.txt"); !ok || pid != os.Getpid() {
		t.Fatalf("tempPID(%q) = %d, %v; want this process's ID", tempName("out.txt"), pid, ok)
	}
	dir := t.TempDir()
	temp := func(base string, pid int, random string) string {
		return "." + base + "." + strconv.Itoa(pid) + "-" + random + TempSuffix
	}
	stale := []string{temp("out.txt", dead, "k3j5x"), temp("out.txt", dead, "0")}
	kept := []string{
		temp("out.txt", os.Getpid(), "k3j5x"),  // a writer of this process, still writing
		temp("out.txt", os.Getppid(), "k3j5x"), // a writer that runs
		temp("other.txt", dead, "k3j5x"),       // another target
		temp("out.txt.bak", dead, "k3j5x"),     // another target, whose name starts like out.txt's
		temp("out.txt", dead, "K3J5X"),         // not a name WriteString makes
		".out.txt.k3j5x" + TempSuffix,          // an older form, without the ID
		".out.txt." + strconv.Itoa(dead) + "-k3j5x" + TempSuffix + ".bak",
		"out.txt." + strconv.Itoa(dead) + "-k3j5x" + TempSuffix,
	}
	for _, name := range append(append([]string(nil), stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteString(t.Context(), filepath.Join(dir, "out.txt"), "new"); err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s, left by a writer that is gone, is still there (%v)", name, err)
		}
	}
	for _, name := range kept {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	if got := readString(t, filepath.Join(dir, "out.txt")); got != "new" {
		t.Errorf("out.txt = %q, want %q", got, "new")
	}
}
