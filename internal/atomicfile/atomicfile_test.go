package atomicfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// noTemp fails the test when dir holds a temporary file of WriteString.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteStringNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	content := strings.Repeat("0123456789", 3*chunkSize/10+7) // several chunks and a tail
	if err := WriteString(context.Background(), path, content); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != content {
		t.Fatalf("content: %d bytes, want %d", len(got), len(content))
	}
	// The mode is that of a file os.Create makes: 0666 less the umask.
	ref, err := os.Create(filepath.Join(dir, "ref"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	refInfo, _ := os.Stat(ref.Name())
	info, _ := os.Stat(path)
	if info.Mode() != refInfo.Mode() {
		t.Errorf("mode %v, want %v as os.Create gives", info.Mode(), refInfo.Mode())
	}
	if err := WriteString(context.Background(), filepath.Join(dir, "empty"), ""); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "empty")); got != "" {
		t.Errorf("empty content: got %q", got)
	}
	noTemp(t, dir)
}

func TestWriteStringKeepsPermissions(t *testing.T) {
	dir := t.TempDir()
	for _, perm := range []fs.FileMode{0o600, 0o640, 0o666, 0o755} {
		path := filepath.Join(dir, "f"+perm.String())
		if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Chmod, unlike creation, is not limited by the umask.
		if err := os.Chmod(path, perm); err != nil {
			t.Fatal(err)
		}
		if err := WriteString(context.Background(), path, "new"); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != perm {
			t.Errorf("mode after replacing a %v file: %v", perm, info.Mode().Perm())
		}
		if got := readString(t, path); got != "new" {
			t.Errorf("content %q, want new", got)
		}
	}
	noTemp(t, dir)
}

func TestWriteStringFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "real")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(sub, "data.txt")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink("real/data.txt", link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := WriteString(context.Background(), link, "new"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file (err %v)", err)
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("the link's target holds %q, want new", got)
	}
	noTemp(t, dir)
	noTemp(t, sub)

	// A dangling link: the file it names is created.
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("real/later.txt", dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteString(context.Background(), dangling, "made"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(sub, "later.txt")); got != "made" {
		t.Errorf("dangling link's file holds %q", got)
	}

	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	err := WriteString(context.Background(), loop, "x")
	if err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("link loop: err = %v", err)
	}
}

// countingCtx is a context whose Err reports cancellation from its n-th
// call on, so that a write is cut after a known number of chunks.
type countingCtx struct {
	context.Context
	calls, n atomic.Int64
}

var errStop = errors.New("stopped by the test")

func (c *countingCtx) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

func TestWriteStringCancelled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	content := strings.Repeat("x", 4*chunkSize)
	// Cut before the first chunk, after one, two and three chunks, and
	// after the last chunk but before the rename.
	for n := int64(1); n <= 5; n++ {
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := &countingCtx{Context: context.Background()}
		ctx.n.Store(n)
		err := WriteString(ctx, path, content)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cut at Err call %d: err = %v, want context.Canceled", n, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != path {
			t.Errorf("cut at Err call %d: error %v does not name the target", n, err)
		}
		if got := readString(t, path); got != "old" {
			t.Errorf("cut at Err call %d: target holds %d bytes, want the old content", n, len(got))
		}
		noTemp(t, dir)
	}

	// With a cause, the error carries it.
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errStop)
	if err := WriteString(ctx, path, "new"); !errors.Is(err, errStop) {
		t.Errorf("cancelled with a cause: err = %v, want %v", err, errStop)
	}
	if got := readString(t, path); got != "old" {
		t.Errorf("target holds %q, want old", got)
	}
	noTemp(t, dir)
}

func TestWriteStringErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "dir.txt")
	err := WriteString(context.Background(), path, "x")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != path || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: err = %#v, want a *fs.PathError for %s and ErrNotExist", err, path)
	}
	// A directory is not a regular file and cannot be written.
	if err := WriteString(context.Background(), dir, "x"); err == nil {
		t.Error("writing over a directory: no error")
	}

	if os.Geteuid() == 0 {
		return // root writes in a read-only directory anyway
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ro, "f.txt")
	if err := os.WriteFile(file, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	err = WriteString(context.Background(), file, "new")
	if err == nil || !strings.Contains(err.Error(), "the directory must be writable") {
		t.Errorf("read-only directory: err = %v", err)
	}
}
