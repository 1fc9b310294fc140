package flowcli

import (
	"math"

	"github.com/dustin/go-humanize"
	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/graph"
)

// maxFileSizeFlag returns the --max-file-size flag of run, validate and
// graph.
func maxFileSizeFlag() ucli.Flag {
	return &ucli.StringFlag{
		Name:  "max-file-size",
		Value: graph.FormatSize(graph.DefaultMaxFileSize),
		Usage: "refuse flow and subflow files larger than `SIZE` (a number of bytes, or with KiB, MiB or GiB); it also bounds the number of values a file may hold, one per 32 bytes",
	}
}

// parseMaxFileSize reads --max-file-size into p.maxFileSize.
func (p *program) parseMaxFileSize(c *ucli.Context, cmd string) error {
	v := c.String("max-file-size")
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > math.MaxInt64/2 {
		return usagef(cmd, "--max-file-size %q: want a size such as 32MiB, 512KiB or 1000000 bytes", v)
	}
	p.maxFileSize = int64(n)
	return nil
}

// readFlow reads a flow or subflow file within the size limit.
func (p *program) readFlow(path string) ([]byte, error) {
	return graph.ReadFile(path, p.maxFileSize)
}
