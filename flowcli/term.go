package flowcli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether v (an io.Reader or io.Writer, or a writer
// that wraps one, such as a secret.Writer) is a terminal.
func isTerminal(v any) bool {
	for {
		u, ok := v.(interface{ Unwrap() io.Writer })
		if !ok {
			break
		}
		v = u.Unwrap()
	}
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// A style says how diagnostics are rendered on one output stream.
type style struct {
	// snippet adds the source line with ">" and "^" markers.
	snippet bool
	// color adds ANSI colour to locations and markers.
	color bool
}

// styleFor returns the style for w: snippets and colour only on a
// terminal, and no colour when NO_COLOR is set to a non-empty value
// (https://no-color.org) or TERM is "dumb".
func (p *program) styleFor(w io.Writer) style {
	if !isTerminal(w) {
		return style{}
	}
	color := p.getenv("NO_COLOR") == "" && p.getenv("TERM") != "dumb"
	return style{snippet: true, color: color}
}

const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiReset = "\x1b[0m"
)

// paint wraps s in the ANSI code when the style has colour.
func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + ansiReset
}
