package graph

import (
	"fmt"
	"io"
	"os"
)

// Limits that keep hostile flow files cheap to refuse.
const (
	// DefaultMaxFileSize is the largest flow file (or subflow file) Load
	// accepts unless Options.MaxFileSize says otherwise.
	DefaultMaxFileSize = 32 << 20
	// bytesPerValue sets how many YAML values (mappings, lists and
	// scalars) a file may hold: one per 32 bytes of the size limit, so
	// 1,048,576 for 32 MiB, whether written out or reached through
	// aliases.
	bytesPerValue = 32
	// minAliasBytes is what aliases may add to a document in all (the
	// bytes of the scalars and keys they repeat), or the file's own size
	// when that is larger: aliases save typing, they do not multiply data.
	minAliasBytes = 4 << 20
	maxDepth      = 200
)

// maxFileSize returns the effective file size limit of opts.
func (o Options) maxFileSize() int64 {
	if o.MaxFileSize > 0 {
		return o.MaxFileSize
	}
	return DefaultMaxFileSize
}

// tooLarge returns the error for a file of size bytes (or more, when
// atLeast) over limit.
func tooLarge(file string, size, limit int64, atLeast bool) ErrorList {
	more := ""
	if atLeast {
		more = "more than "
	}
	return ErrorList{{Pos: Pos{File: file}, Msg: fmt.Sprintf(
		"the file is %s%s, larger than the %s limit for flow files: nothing was parsed; split the flow into subflows, or raise the limit (--max-file-size)",
		more, FormatSize(size), FormatSize(limit))}}
}

// ReadFile reads a flow file of at most limit bytes (0: the default). A
// larger file is refused after reading limit+1 bytes of it, with an
// [ErrorList] naming the file; other failures are returned as they are.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooLarge(path, st.Size(), limit, false)
	}
	src, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(src)) > limit {
		return nil, tooLarge(path, limit, limit, true)
	}
	return src, nil
}

// FormatSize writes a size in bytes the way limits are given: "32 MiB",
// "1.5 KiB", "100 bytes".
func FormatSize(n int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	unit := func(u int64, name string) string {
		if n%u == 0 {
			return fmt.Sprintf("%d %s", n/u, name)
		}
		return fmt.Sprintf("%.1f %s", float64(n)/float64(u), name)
	}
	switch {
	case n >= gib:
		return unit(gib, "GiB")
	case n >= mib:
		return unit(mib, "MiB")
	case n >= kib:
		return unit(kib, "KiB")
	}
	return fmt.Sprintf("%d bytes", n)
}
