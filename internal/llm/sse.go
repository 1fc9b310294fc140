package llm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes is the longest SSE line the parser accepts (32 MiB, as in
// openai-go); a longer line fails the stream with [ErrLineTooLong]. It
// also bounds a JSON body sent instead of a stream.
const MaxLineBytes = 32 << 20

// An sseEvent is one dispatched server-sent event.
type sseEvent struct {
	// Event is the value of the last "event:" field, or "".
	Event string
	// Data is the "data:" lines joined with "\n".
	Data []byte
	// HasData reports whether the event had at least one "data:" field.
	HasData bool
	// Error is the value of a non-standard "error:" field (llama.cpp before
	// PR #16486 reported failures this way); HasError reports its presence.
	Error    []byte
	HasError bool
}

// An sseReader splits a byte stream into events following the WHATWG
// "interpreting an event stream" rules: a leading byte order mark is
// dropped; lines end in CRLF, LF or a lone CR;
// lines starting with ':' are comments; "field: value" drops one space
// after the colon; several data lines are joined with "\n"; a blank line
// dispatches the event; a partial event at EOF is discarded.
type sseReader struct {
	sc *bufio.Scanner
	// seen is how many bytes at the start of the data given to split are
	// known to hold no line end. The scanner gives the same line start
	// again, with more bytes, until split returns a token; without seen,
	// a long line arriving in small reads would be searched again from
	// its start after every read, in time quadratic in its length.
	seen int
	// pastFirst is set once the first line, which may start with a byte
	// order mark, has been read.
	pastFirst bool
}

// utf8BOM is the byte order mark a stream may start with.
var utf8BOM = []byte("\uFEFF")

func newSSEReader(r io.Reader) *sseReader {
	s := &sseReader{}
	s.sc = bufio.NewScanner(r)
	s.sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	s.sc.Split(s.split)
	return s
}

// split is a bufio.SplitFunc for CRLF, LF and lone-CR line ends.
func (s *sseReader) split(data []byte, atEOF bool) (advance int, token []byte, err error) {
	from := min(s.seen, len(data))
	i := bytes.IndexAny(data[from:], "\r\n")
	if i < 0 {
		if atEOF && len(data) > 0 {
			// A last line without a terminator: returned so that the caller
			// can see it, but an event is dispatched only by a blank line,
			// so it never completes an event.
			s.seen = 0
			return len(data), data, nil
		}
		s.seen = len(data)
		return 0, nil, nil
	}
	i += from
	if data[i] == '\r' {
		if i+1 == len(data) && !atEOF {
			s.seen = i // need one more byte to tell CR from CRLF
			return 0, nil, nil
		}
		if i+1 < len(data) && data[i+1] == '\n' {
			s.seen = 0
			return i + 2, data[:i], nil
		}
	}
	s.seen = 0
	return i + 1, data[:i], nil
}

// errPartialEvent is returned by next when the stream ended inside an event.
var errPartialEvent = errors.New("stream ended inside an event")

// next returns the next event that has data or an error field. At the end
// of the stream it returns io.EOF, or errPartialEvent when an event had
// started but was never dispatched; a line longer than MaxLineBytes is
// ErrLineTooLong (wrapping bufio.ErrTooLong); other errors come from the
// reader.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	started := false
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if !s.pastFirst {
			s.pastFirst = true
			line = bytes.TrimPrefix(line, utf8BOM) // the spec drops one leading BOM
		}
		if len(line) == 0 {
			if ev.HasData || ev.HasError {
				return ev, nil
			}
			ev, started = sseEvent{}, false
			continue
		}
		if line[0] == ':' {
			continue // comment, e.g. ": keep-alive"
		}
		started = true
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if ev.HasData {
				ev.Data = append(ev.Data, '\n')
			}
			ev.Data = append(ev.Data, value...)
			ev.HasData = true
		case "event":
			ev.Event = string(value)
		case "error":
			if ev.HasError {
				ev.Error = append(ev.Error, '\n')
			}
			ev.Error = append(ev.Error, value...)
			ev.HasError = true
		}
		// "id", "retry" and unknown fields are ignored, as the spec says.
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, fmt.Errorf("%w: %w", ErrLineTooLong, err)
		}
		return sseEvent{}, err
	}
	if started {
		return sseEvent{}, errPartialEvent
	}
	return sseEvent{}, io.EOF
}
