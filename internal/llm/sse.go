package llm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLineBytes is the longest SSE line the parser accepts (32 MiB, as in
// openai-go); a longer line fails the stream with [bufio.ErrTooLong].
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
// "interpreting an event stream" rules: lines end in CRLF, LF or a lone CR;
// lines starting with ':' are comments; "field: value" drops one space
// after the colon; several data lines are joined with "\n"; a blank line
// dispatches the event; a partial event at EOF is discarded.
type sseReader struct {
	sc *bufio.Scanner
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	sc.Split(splitSSELines)
	return &sseReader{sc: sc}
}

// splitSSELines is a bufio.SplitFunc for CRLF, LF and lone-CR line ends.
func splitSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		if atEOF && len(data) > 0 {
			// A last line without a terminator: returned so that the caller
			// can see it, but an event is dispatched only by a blank line,
			// so it never completes an event.
			return len(data), data, nil
		}
		return 0, nil, nil
	}
	if data[i] == '\r' {
		if i+1 == len(data) && !atEOF {
			return 0, nil, nil // need one more byte to tell CR from CRLF
		}
		if i+1 < len(data) && data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
	}
	return i + 1, data[:i], nil
}

// errPartialEvent is returned by next when the stream ended inside an event.
var errPartialEvent = errors.New("stream ended inside an event")

// next returns the next event that has data or an error field. At the end
// of the stream it returns io.EOF, or errPartialEvent when an event had
// started but was never dispatched; other errors come from the reader.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	started := false
	for s.sc.Scan() {
		line := s.sc.Bytes()
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
		return sseEvent{}, err
	}
	if started {
		return sseEvent{}, errPartialEvent
	}
	return sseEvent{}, io.EOF
}
