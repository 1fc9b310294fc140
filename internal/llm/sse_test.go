package llm

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// oneByteReader returns one byte per Read, to show that events do not
// depend on how the bytes were split.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	type ev struct {
		Event, Data, Error string
	}
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{"lf", "data: a\n\ndata: b\n\n", []ev{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []ev{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"lone cr", "data: a\r\rdata: b\r\r", []ev{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"mixed ends", "data: a\r\n\ndata: b\r\r\n", []ev{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"comments", ": keep-alive\n\ndata: a\n: ping\n\n", []ev{{Data: "a"}}, io.EOF},
		{"multi-line data", "data: {\"a\":\ndata: 1}\n\n", []ev{{Data: "{\"a\":\n1}"}}, io.EOF},
		{"no space", "data:x\n\n", []ev{{Data: "x"}}, io.EOF},
		{"two spaces keep one", "data:  x\n\n", []ev{{Data: " x"}}, io.EOF},
		{"event id retry", "event: message\nid: 7\nretry: 10\ndata: a\n\n", []ev{{Event: "message", Data: "a"}}, io.EOF},
		{"no data ignored", "event: ping\n\nid: 3\n\ndata: a\n\n", []ev{{Data: "a"}}, io.EOF},
		{"empty data kept", "data:\n\n", []ev{{Data: ""}}, io.EOF},
		{"legacy error field", "error: {\"code\":500}\n\n", []ev{{Error: "{\"code\":500}"}}, io.EOF},
		{"field without colon", "data\n\n", []ev{{Data: ""}}, io.EOF},
		{"partial event at eof", "data: a\n\ndata: b\n", []ev{{Data: "a"}}, errPartialEvent},
		{"partial line at eof", "data: a\n\ndata: b", []ev{{Data: "a"}}, errPartialEvent},
		{"leading bom dropped", "\uFEFFdata: a\n\n\uFEFFdata: b\n\n", []ev{{Data: "a"}}, io.EOF},
		{"utf-8", "data: h\u00e9llo \u4e16\u754c\n\n", []ev{{Data: "h\u00e9llo \u4e16\u754c"}}, io.EOF},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			if split {
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var r io.Reader = strings.NewReader(tt.in)
				if split {
					r = oneByteReader{r}
				}
				sr := newSSEReader(r)
				var got []ev
				var err error
				for {
					var e sseEvent
					e, err = sr.next()
					if err != nil {
						break
					}
					got = append(got, ev{Event: e.Event, Data: string(e.Data), Error: string(e.Error)})
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("events = %q, want %q", got, tt.want)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("end = %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}

func TestSSEReaderLongLines(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	sr := newSSEReader(strings.NewReader("data: " + big + "\n\n"))
	e, err := sr.next()
	if err != nil || len(e.Data) != len(big) {
		t.Fatalf("1 MiB line: got %d bytes, err %v", len(e.Data), err)
	}

	sr = newSSEReader(strings.NewReader("data: " + strings.Repeat("x", MaxLineBytes+1) + "\n\n"))
	if _, err := sr.next(); !errors.Is(err, ErrLineTooLong) || !errors.Is(err, bufio.ErrTooLong) {
		t.Fatalf("line over the limit: err = %v, want ErrLineTooLong wrapping bufio.ErrTooLong", err)
	}
}
