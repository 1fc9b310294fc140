package console

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ergochat/readline"
	"golang.org/x/term"
)

// ErrInterrupt is returned by ReadLine for a Ctrl-C at the prompt that
// interrupted nothing.
var ErrInterrupt = errors.New("Ctrl-C at the prompt")

// A Console is one terminal shared by the nodes of an interactive flow:
// ReadLine reads lines with a line editor (prompt, history, arrows), and
// what is written to Stdout appears above the line being edited, which
// stays intact and is redrawn below the output. Output may end in the
// middle of a line (a streamed answer): that line stays above the prompt
// and the next write continues it.
//
// The line editor starts on the first ReadLine; until then, and between
// reads, output is written as it comes, keeping the same layout. Close
// restores the terminal.
type Console struct {
	in  io.Reader
	out io.Writer
	// Interrupt, when set before the first ReadLine, is called for a
	// Ctrl-C typed at the prompt: it interrupts what is in flight (an
	// answer streaming) and returns how many runs it interrupted. When it
	// interrupted something the read goes on; otherwise ReadLine returns
	// ErrInterrupt.
	Interrupt func() int

	mu      sync.Mutex
	rl      *readline.Instance
	raw     *Raw // nil when in is not a terminal
	closed  bool
	typedMu sync.Mutex // guards typed, which the editor's listener sets
	typed   []rune     // the editor's line after the last key
	row     []rune     // the unfinished last row of output, shown above the prompt
	pending []string   // lines entered while output was unfinished, shown when it ends a line
}

// New returns a console on the terminal in (the keyboard) and out (the
// screen).
func New(in io.Reader, out io.Writer) *Console {
	return &Console{in: in, out: out}
}

// fd returns the file descriptor of v if it is a terminal.
func fd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// width returns the terminal's width in columns.
func (c *Console) width() int {
	if d, ok := fd(c.out); ok {
		if w, _, err := term.GetSize(d); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// editor returns the line editor, starting it. Called with c.mu held.
func (c *Console) editor() (*readline.Instance, error) {
	if c.rl != nil {
		return c.rl, nil
	}
	cfg := &readline.Config{
		HistoryLimit:       1000,
		Stdin:              c.in,
		Stdout:             c.out,
		Stderr:             c.out,
		FuncIsTerminal:     func() bool { return true },
		InterruptPrompt:    "\n",
		EOFPrompt:          "\n",
		FuncGetSize:        func() (int, int) { return c.width(), 24 },
		FuncOnWidthChanged: func(func()) {},
	}
	// The terminal stays raw (no echo) from the first read to Close (see
	// Raw), so that keys typed while no read is pending (the next prompt
	// waits for the answer in flight) are kept for the next read instead
	// of being echoed into the answer.
	if d, ok := fd(c.in); ok {
		c.raw = NewRaw(d)
		cfg.FuncMakeRaw = c.raw.Enter
		cfg.FuncExitRaw = c.raw.Exit
	} else {
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
	}
	// The editor's line after each key: a Ctrl-C that cuts an answer
	// gives it back (the editor calls no listener for that key).
	cfg.Listener = func(line []rune, pos int, key rune) ([]rune, int, bool) {
		c.typedMu.Lock()
		c.typed = append(c.typed[:0], line...)
		c.typedMu.Unlock()
		return nil, 0, false
	}
	rl, err := readline.NewFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.rl = rl
	return rl, nil
}

// ReadLine shows prompt and returns the line the user entered. It returns
// io.EOF for Ctrl-D on an empty line, ErrInterrupt for a Ctrl-C that
// interrupted nothing (see Interrupt), and ctx's cause when ctx is done
// first (the console is then closed: the flow is ending).
func (c *Console) ReadLine(ctx context.Context, prompt string) (string, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", io.EOF
	}
	rl, err := c.editor()
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	rl.SetPrompt(prompt)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	for {
		line, err := rl.ReadLine()
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		if errors.Is(err, readline.ErrInterrupt) && c.Interrupt != nil && c.Interrupt() > 0 {
			// An answer was cut. The editor left the interrupted line on
			// the screen: take it off, the prompt comes back in its place.
			c.mu.Lock()
			io.WriteString(c.out, "\x1bM\r\x1b[K")
			c.mu.Unlock()
			c.typedMu.Lock()
			typed := strings.TrimRight(string(c.typed), "\r\n")
			c.typedMu.Unlock()
			rl.SetDefault(typed) // what was being typed stays
			continue
		}
		if errors.Is(err, readline.ErrInterrupt) {
			return "", ErrInterrupt
		}
		if err != nil {
			return "", err
		}
		c.entered(prompt + line)
		return line, nil
	}
}

// entered moves the line just entered, which the editor left on the row
// above the cursor, to the output: at once when the output is at the
// start of a line, else once it ends its line (so that a streaming answer
// is not cut in two).
func (c *Console) entered(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.row == nil {
		return // the line is already where it belongs
	}
	// Take the entered line off the screen; the cursor is back on the
	// row below the unfinished output.
	io.WriteString(c.out, "\x1bM\r\x1b[K")
	c.pending = append(c.pending, line)
}

// Stdout returns a writer whose output appears above the line being
// edited.
func (c *Console) Stdout() io.Writer { return consoleWriter{c} }

type consoleWriter struct{ c *Console }

func (w consoleWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := c.layout(p)
	var err error
	if c.rl != nil && !c.closed {
		_, err = c.rl.Write(seq)
	} else {
		_, err = c.out.Write(seq)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// layout returns the bytes that show p after the output so far, keeping
// the cursor at the start of the row below the output (where the prompt
// is drawn): an unfinished row is continued by moving up to it (ESC M,
// which the line editor's redraw does not misread) and writing its text
// again, and ended with a line break below it. Called with c.mu held.
func (c *Console) layout(p []byte) []byte {
	width := c.width()
	var b []byte
	if c.row != nil {
		if len(c.row) < width {
			b = append(b, "\x1bM\r"...)
			b = append(b, string(c.row)...)
		} else {
			c.row = nil // the row is full: go on on the next one
		}
	}
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == '\r' {
			p = p[size:]
			continue // lines end with \n; a carriage return would break the layout
		}
		b = append(b, p[:size]...)
		p = p[size:]
		switch r {
		case '\n':
			c.row = nil
			if len(c.pending) > 0 {
				for _, l := range c.pending {
					b = append(b, l...)
					b = append(b, '\n')
				}
				c.pending = nil
			}
		default:
			if len(c.row) >= width {
				c.row = c.row[:0]
			}
			c.row = append(c.row, r)
		}
	}
	if len(c.row) > 0 {
		b = append(b, "\r\n"...)
	} else {
		c.row = nil
	}
	return b
}

// Close ends a pending ReadLine and restores the terminal.
func (c *Console) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.rl == nil {
		return nil
	}
	err := c.rl.Close()
	if c.raw != nil {
		err = errors.Join(err, c.raw.Restore())
	}
	return err
}
