package llm

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// chunkReader returns at most n bytes per Read, as a network connection
// does.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

// BenchmarkSSELongLine reads one data line of 4 and 8 MiB arriving 16 KiB
// at a time: the time per byte must not grow with the line's length.
func BenchmarkSSELongLine(b *testing.B) {
	for _, mib := range []int{4, 8} {
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			line := "data: " + strings.Repeat("x", mib<<20) + "\n\n"
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				sr := newSSEReader(chunkReader{strings.NewReader(line), 16 << 10})
				if _, err := sr.next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
