// Package atomicfile replaces a file's content atomically: a reader, or
// whatever is left after the writing process is killed, sees either the
// whole old content or the whole new content, never a mix or a cut file.
//
// The content goes to a temporary file in the target's directory (the
// same file system, so that rename(2) is atomic), which is synced and then
// renamed over the target; the directory is synced afterwards so that the
// rename itself survives a crash. It is written on the standard library
// rather than github.com/google/renameio/v2, which does not sync the
// directory after the rename, has no implementation on Windows, and looks
// for a temporary directory on another file system by creating probe files
// in $TMPDIR.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// chunkSize is how much is written between two looks at the context, so
// that a cancelled write stops soon even when the content is large.
const chunkSize = 1 << 20

// TempSuffix ends the names of the temporary files: a file named
// ".<target>.<pid>-<random>"+TempSuffix in the target's directory, where
// pid is the writing process's ID (decimal) and random is base 36. One is
// left behind only when the writing process is killed before it could
// remove it. The next write of the same target that completes removes it
// (see WriteString), and it can be deleted by hand.
const TempSuffix = ".flowrun-tmp"

// maxLinks bounds the symbolic links followed to find the real target.
const maxLinks = 40

// WriteString replaces the content of the file at path with content.
//
// A new file is created with mode 0666 less the umask, as os.Create does; an
// existing file keeps its permission bits (not its owner: the replaced file
// belongs to the writer). A symbolic link is followed, and the file it
// points to is replaced, so the link stays a link. A path that exists but is
// not a regular file (a device such as /dev/stdout, a named pipe) cannot be
// renamed over, and is written in place, without the guarantee.
//
// When ctx is done before the content is complete, the temporary file is
// removed, the target is left as it was, and the error wraps ctx's cause.
// Once the rename has happened the write is complete and ctx is no longer
// looked at. Errors are *fs.PathError values naming path, not the temporary
// file.
//
// A completed write then removes the temporary files that writers of the
// same target which were killed left behind: those whose name has exactly
// the form of TempSuffix's for this target and whose process no longer
// exists on this machine (on Unix; elsewhere nothing is removed). The
// temporary file of a writer still running, in this process or another,
// is left alone, and so is anything else.
func WriteString(ctx context.Context, path, content string) error {
	target, err := resolve(path)
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	perm := fs.FileMode(0o666)
	keepPerm := false
	switch fi, err := os.Stat(target); {
	case err == nil && !fi.Mode().IsRegular():
		return writeInPlace(ctx, path, target, content)
	case err == nil:
		perm, keepPerm = fi.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
	}
	dir := filepath.Dir(target)
	f, err := createTemp(dir, filepath.Base(target), perm)
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: tempError(err)}
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if keepPerm {
		// The umask may have removed bits from the mode at creation.
		if err := f.Chmod(perm); err != nil {
			return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
		}
	}
	if err := writeChunks(ctx, f, content); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	if err := f.Sync(); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
	}
	if err := f.Close(); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: context.Cause(ctx)}
	}
	if err := os.Rename(tmp, target); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
	}
	done = true
	if err := syncDir(dir); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: fmt.Errorf("the file was replaced, but syncing its directory failed: %w", unwrap(err))}
	}
	removeStale(dir, filepath.Base(target))
	return nil
}

// removeStale removes, as well as it can, the temporary files of base in
// dir whose writer process is gone.
func removeStale(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if pid, ok := tempPID(e.Name(), base); ok && pid != os.Getpid() && processGone(pid) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// tempName returns the name of a temporary file of base for this process.
func tempName(base string) string {
	return "." + base + "." + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64(), 36) + TempSuffix
}

// tempPID reports whether name is the name of a temporary file of base
// (see TempSuffix), and the ID of the process that wrote it.
func tempPID(name, base string) (int, bool) {
	mid, ok := strings.CutPrefix(name, "."+base+".")
	if !ok {
		return 0, false
	}
	if mid, ok = strings.CutSuffix(mid, TempSuffix); !ok {
		return 0, false
	}
	pidText, random, ok := strings.Cut(mid, "-")
	if !ok || !allIn(pidText, "0123456789") || !allIn(random, "0123456789abcdefghijklmnopqrstuvwxyz") {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// allIn reports whether s is not empty and made only of bytes of set.
func allIn(s, set string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !strings.ContainsRune(set, rune(s[i])) {
			return false
		}
	}
	return true
}

// resolve follows symbolic links from path to the file they name, which
// need not exist.
func resolve(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil // a missing file, or not a link: the target
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", unwrap(err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", errors.New("too many levels of symbolic links")
}

// createTemp creates a new file for writing in dir, named after base, with
// perm (less the umask).
func createTemp(dir, base string, perm fs.FileMode) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, tempName(base))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 100 {
			return f, err
		}
	}
}

// tempError explains a failure to create the temporary file, which needs
// the directory to be writable even when the target file is.
func tempError(err error) error {
	err = unwrap(err)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w (the file is replaced through a temporary file in its directory, "+
			"so the directory must be writable)", err)
	}
	return err
}

// writeChunks writes content to f, looking at ctx between chunks.
func writeChunks(ctx context.Context, f *os.File, content string) error {
	for len(content) > 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		n := min(len(content), chunkSize)
		if _, err := f.WriteString(content[:n]); err != nil {
			return unwrap(err)
		}
		content = content[n:]
	}
	return nil
}

// writeInPlace writes to a path that is not a regular file, such as a
// device or a pipe, which has no content to keep.
func writeInPlace(ctx context.Context, path, target, content string) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: unwrap(err)}
	}
	err = writeChunks(ctx, f, content)
	if cerr := f.Close(); err == nil {
		err = unwrap(cerr)
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// syncDir makes a rename in dir durable. File systems and systems that
// cannot sync a directory (Windows, some network file systems) are left
// as they are.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// unwrap returns the cause of a *fs.PathError or *os.LinkError, whose
// path would name the temporary file.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// IsTemp reports whether name (a base name) is one of the temporary files
// WriteString creates.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, TempSuffix)
}
