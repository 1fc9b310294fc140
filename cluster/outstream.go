package cluster

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/flowrun/flowrun/registry"
)

// Streams out of workers are batched: Emit queues the chunk (within the
// coordinator's credit, so the queue holds at most a window), and one
// sender goroutine per streamed run publishes what is queued, as many
// chunks per message as there are, in order. A fast node thus sends few
// large messages and a slow one a message per chunk, as soon as it is
// emitted: batching adds no wait.

// outChunk is an emitted chunk waiting for the sender: its output and
// its value, already encoded.
type outChunk struct {
	output string
	value  []byte
}

// A chunkBatch is chunks Seq.. of one attempt of a streamed run, as the
// coordinator decodes it: values stay raw, for the replay hash.
type chunkBatch struct {
	Attempt string     `json:"a"`
	Seq     int        `json:"s"`
	Chunks  []rawChunk `json:"c"`
}

type rawChunk struct {
	Output string          `json:"o"`
	Value  json.RawMessage `json:"v"`
}

// outSender publishes a streamed run's chunks.
type outSender struct {
	subject, attempt string

	mu      sync.Mutex
	pending []outChunk
	seq     int // sequence number of pending[0]
	closed  bool
	err     error // the first publish error
	wake    chan struct{}
	done    chan struct{}
}

func newOutSender(subject, attempt string) *outSender {
	return &outSender{subject: subject, attempt: attempt, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// add queues a chunk; it returns the error of an earlier publish.
func (s *outSender) add(output string, value []byte) error {
	s.mu.Lock()
	s.pending = append(s.pending, outChunk{output, value})
	err := s.err
	s.mu.Unlock()
	wake(s.wake)
	return err
}

// run publishes batches with publish until close, sending what is
// queued first.
func (s *outSender) run(publish func(subject string, data []byte) error) {
	defer close(s.done)
	var buf []byte
	var batch []outChunk
	for {
		s.mu.Lock()
		batch, s.pending = s.pending, batch[:0]
		seq := s.seq
		s.seq += len(batch)
		closed := s.closed
		s.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), maxBatch)
			buf = appendBatch(buf[:0], s.attempt, seq, batch[:n])
			if err := publish(s.subject, buf); err != nil {
				s.mu.Lock()
				if s.err == nil {
					s.err = err
				}
				s.mu.Unlock()
			}
			seq += n
			batch = batch[n:]
		}
		batch = batch[:0]
		if closed {
			return
		}
		<-s.wake
	}
}

// close sends what is queued and stops the sender; it returns the first
// publish error.
func (s *outSender) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	wake(s.wake)
	<-s.done
	return s.err
}

// appendBatch encodes a chunkBatch (the attempt is base 36: no escaping).
func appendBatch(buf []byte, attempt string, seq int, chunks []outChunk) []byte {
	buf = append(buf, `{"a":"`...)
	buf = append(buf, attempt...)
	buf = append(buf, `","s":`...)
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, `,"c":[`...)
	for i, c := range chunks {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"o":`...)
		buf = strconv.AppendQuote(buf, c.output)
		buf = append(buf, `,"v":`...)
		buf = append(buf, c.value...)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

// decodeValue decodes one raw JSON value as the engine's values are
// shaped (integers as int), with a fast path for integers.
func decodeValue(raw []byte) (any, error) {
	if n := len(raw); n > 0 && n < 19 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		if i, err := strconv.Atoi(string(raw)); err == nil {
			return i, nil
		}
	}
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return nil, err
	}
	return registry.FromJSONNumbers(v), nil
}
