package flowtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// An eventLog holds what a case's event log says, by "node.port": the
// values each input received (start events), the final value of each
// output per run (end events) and the chunks of each output.
type eventLog struct {
	received map[string][]any
	produced map[string][]any
	chunks   map[string][]any
	// stops holds, by node, why the node's last run ended the flow.
	stops map[string]string
	err   error
}

type event struct {
	Event   string         `json:"event"`
	Node    string         `json:"node"`
	Inputs  map[string]any `json:"inputs"`
	Output  string         `json:"output"`
	Value   any            `json:"value"`
	Outputs map[string]any `json:"outputs"`
	Stop    string         `json:"stop"`
}

func parseEvents(data []byte) *eventLog {
	l := &eventLog{received: map[string][]any{}, produced: map[string][]any{}, chunks: map[string][]any{}, stops: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxEvents)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			l.err = fmt.Errorf("unreadable event log line: %v", err)
			return l
		}
		switch e.Event {
		case "start":
			for k, v := range e.Inputs {
				l.received[e.Node+"."+k] = append(l.received[e.Node+"."+k], v)
			}
		case "chunk":
			l.chunks[e.Node+"."+e.Output] = append(l.chunks[e.Node+"."+e.Output], e.Value)
		case "end":
			if e.Stop != "" {
				l.stops[e.Node] = e.Stop
			}
			for k, v := range e.Outputs {
				l.produced[e.Node+"."+k] = append(l.produced[e.Node+"."+k], v)
			}
		}
	}
	if err := sc.Err(); err != nil && l.err == nil {
		l.err = err
	}
	return l
}

// A limitBuffer keeps the first max bytes written to it and drops the
// rest, so that a flow that writes without end cannot exhaust memory. It
// is safe for concurrent use: nodes write from their own goroutines.
type limitBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		b.truncated = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

func (b *limitBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return b.buf.String() + fmt.Sprintf("\n[flowrun test: output cut at %d MiB]", b.max>>20)
	}
	return b.buf.String()
}
