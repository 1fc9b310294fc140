package llm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// refEvent is an event as the reference parser sees it.
type refEvent struct {
	Event, Data, Error string
	HasData, HasError  bool
}

// refParse is a second, deliberately simple reading of the WHATWG rules,
// for FuzzSSEReader to compare the real parser with: it turns every line
// end into "\n" first and splits the whole input at once, instead of
// scanning it as it arrives.
func refParse(in string) ([]refEvent, error) {
	in = strings.TrimPrefix(in, "\uFEFF")
	in = strings.ReplaceAll(in, "\r\n", "\n")
	in = strings.ReplaceAll(in, "\r", "\n")
	lines := strings.Split(in, "\n")
	// The last element follows the last line end: a line cut by the end
	// of the stream, or "" when the stream ended with a line end.
	tail := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if tail != "" {
		lines = append(lines, tail) // it can start an event, never end one
	}
	var events []refEvent
	var ev refEvent
	pending := false // a field line was seen since the last blank line
	for _, line := range lines {
		switch {
		case line == "":
			if ev.HasData || ev.HasError {
				events = append(events, ev)
			}
			ev, pending = refEvent{}, false
		case line[0] == ':':
		default:
			pending = true
			field, value, found := strings.Cut(line, ":")
			if found {
				value = strings.TrimPrefix(value, " ")
			}
			switch field {
			case "data":
				if ev.HasData {
					ev.Data += "\n"
				}
				ev.Data += value
				ev.HasData = true
			case "error":
				if ev.HasError {
					ev.Error += "\n"
				}
				ev.Error += value
				ev.HasError = true
			case "event":
				ev.Event = value
			}
		}
	}
	if pending {
		return events, errPartialEvent
	}
	return events, io.EOF
}

// chunkedReader returns the input in reads of the given sizes, in turn.
type chunkedReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzSSEReader checks the SSE parser against refParse on any input, read
// whole, one byte at a time and in reads of sizes taken from the fuzzer:
// the same events and the same ending every time, and no panic. The seed
// corpus is in testdata/fuzz/FuzzSSEReader; run the fuzzer with
//
//	go test ./internal/llm -run '^$' -fuzz FuzzSSEReader -fuzztime 2m
func FuzzSSEReader(f *testing.F) {
	for _, seed := range []string{
		"data: a\n\ndata: b\n\n",
		"data: a\r\n\r\ndata: b\r\n\r\n",
		"data: a\r\rdata: b\r\r",
		": keep-alive\n\ndata: a\n: ping\n\n",
		"event: message\nid: 7\nretry: 10\ndata: a\n\n",
		"error: {\"code\":500}\n\n",
		"data: a\n\ndata: b",
	} {
		f.Add([]byte(seed), []byte{3, 1, 7})
	}
	f.Fuzz(func(t *testing.T, in []byte, sizes []byte) {
		want, wantEnd := refParse(string(in))
		readers := map[string]func() io.Reader{
			"whole":    func() io.Reader { return bytes.NewReader(in) },
			"one byte": func() io.Reader { return &chunkedReader{data: in, sizes: []int{1}} },
		}
		if len(sizes) > 0 {
			s := make([]int, len(sizes))
			for i, b := range sizes {
				s[i] = int(b)%64 + 1
			}
			readers["fuzzed sizes"] = func() io.Reader { return &chunkedReader{data: in, sizes: s} }
		}
		for name, r := range readers {
			sr := newSSEReader(r())
			var got []refEvent
			var end error
			for {
				ev, err := sr.next()
				if err != nil {
					end = err
					break
				}
				if !ev.HasData && !ev.HasError {
					t.Fatalf("%s: next returned an event with neither data nor error: %+v", name, ev)
				}
				got = append(got, refEvent{Event: ev.Event, Data: string(ev.Data), Error: string(ev.Error), HasData: ev.HasData, HasError: ev.HasError})
				if len(got) > len(in) {
					t.Fatalf("%s: more events than input bytes", name)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: events\n%#v\nwant (reference)\n%#v", name, got, want)
			}
			if !errors.Is(end, wantEnd) {
				t.Fatalf("%s: ended with %v, want %v", name, end, wantEnd)
			}
		}
	})
}
