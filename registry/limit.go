package registry

import (
	"fmt"
	"math"

	"github.com/dustin/go-humanize"
)

// DefaultMaxValueBytes is the default limit of a whole value built from a
// stream: an output's accumulation, or a value a node builds while it
// reads a stream (stream.join, stream.collect). See [Env].MaxValueBytes.
const DefaultMaxValueBytes int64 = 256 << 20

// MaxValueBytes returns the limit of whole values in env: its
// MaxValueBytes, [DefaultMaxValueBytes] when that is 0, and no limit
// (math.MaxInt64) when it is negative.
func (env Env) MaxValueBytes() int64 {
	switch {
	case env.ValueLimit == 0:
		return DefaultMaxValueBytes
	case env.ValueLimit < 0:
		return math.MaxInt64
	}
	return env.ValueLimit
}

// A ValueTooLargeError says that a whole value grew past the limit
// ([Env].MaxValueBytes). The engine returns it when an output's
// accumulation grows past the limit; nodes that build a whole value from
// a stream return it too, so that the run fails with a clear message
// instead of growing until the kernel kills the process.
type ValueTooLargeError struct {
	// Output is the output whose whole value is too large.
	Output string
	// Limit is the limit, in bytes.
	Limit int64
	// NeededBy says what needs the whole value ("node \"w\"",
	// "--print-final"); empty when the node itself builds it.
	NeededBy string
}

func (e *ValueTooLargeError) Error() string {
	by := ""
	if e.NeededBy != "" {
		by = ", needed by " + e.NeededBy + ","
	}
	return fmt.Sprintf("output %q: its whole value%s grew past the limit of %s; "+
		"raise the limit (flowrun run --max-value-bytes) or read the output as a stream",
		e.Output, by, formatBytes(e.Limit))
}

// SizeOf estimates the memory a JSON-shaped value holds, in bytes: the
// bytes of its strings plus the words of Go's string headers, numbers,
// list elements and object entries. It is what the limit of whole values
// counts. It costs O(size of v).
func SizeOf(v any) int64 {
	switch v := v.(type) {
	case nil, bool:
		return 1
	case string:
		return 16 + int64(len(v))
	case []any:
		n := int64(16)
		for _, e := range v {
			n += 16 + SizeOf(e)
		}
		return n
	case map[string]any:
		n := int64(48)
		for k, e := range v {
			n += 16 + int64(len(k)) + SizeOf(e)
		}
		return n
	}
	return 8
}

// Needed reports whether something needs the whole value of the named
// output of this run: a value input connected to it, the final values the
// caller asked for, or the event log. A node that builds an output's value
// itself while it streams (the text it printed, the lines of a program's
// output) builds it only when it is needed, so that a long stream keeps
// flat memory. It is true when out does not say (it does not implement
// Needed(name string) bool), as in tests.
func Needed(out Outputs, name string) bool {
	if n, ok := out.(interface{ Needed(name string) bool }); ok {
		return n.Needed(name)
	}
	return true
}

// formatBytes writes n bytes for a person: "256 MiB" for an exact number
// of a unit, else humanize's "1.5 GiB".
func formatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return humanize.IBytes(uint64(n))
}
