package engine

import (
	"context"
	"errors"
	"iter"
	"sync"

	"github.com/flowrun/flowrun/registry"
)

// A chunkQueue carries the chunks of one run of a producer to one stream
// consumer. Until the consumer starts reading, the queue keeps every chunk
// (so a consumer that can only start after the producer's run ended never
// blocks the producer: fork/join shapes cannot deadlock); once it reads, the
// producer blocks while the queue holds cap chunks (backpressure).
type chunkQueue struct {
	mu      sync.Mutex
	buf     []any // ring buffer
	head, n int
	cap     int

	reading   bool  // the consumer has started reading: cap applies
	closed    bool  // the producer's run ended
	err       error // the producer's run failed (on_error: continue)
	cancelled bool  // the consumer cancelled: drop further chunks
	// kept: a queue standing for values (valueQueue) keeps its chunks
	// once read, so that a run restarted (restream.go) reads them again.
	kept bool

	consWaiting bool
	prodWaiting bool
	notEmpty    chan struct{}
	notFull     chan struct{}

	// onCancel stops the producer's run; set by the producer when it
	// creates the queue, nil for queues that stand for a single value.
	// Guarded by mu (a restreamed run's old queues drop it).
	onCancel func()
	// reader is the consumer's run that took the queue as its input,
	// nil until one did. Guarded by Runner.mu.
	reader *run

	// held is the size (registry.SizeOf) of the chunks kept for a
	// consumer that has not started reading; past limit, push fails.
	held, limit int64
}

// errHeld is returned by push when the chunks kept for a consumer that
// has not started reading grew past the limit of whole values.
var errHeld = errors.New("chunks kept for a consumer that is not reading grew past the limit")

func newChunkQueue(capacity int, onCancel func(), limit int64) *chunkQueue {
	return &chunkQueue{
		cap:      capacity,
		notEmpty: make(chan struct{}, 1),
		notFull:  make(chan struct{}, 1),
		onCancel: onCancel,
		limit:    limit,
	}
}

// valueQueue returns a closed queue holding the given chunks: the stream a
// stream input sees for a non-streaming producer or a default.
func valueQueue(chunks ...any) *chunkQueue {
	q := &chunkQueue{buf: chunks, n: len(chunks), cap: len(chunks), closed: true, reading: true, kept: true}
	return q
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push appends a chunk, blocking while a reading consumer's queue is full.
// It returns ctx's cause when ctx is done first, and errHeld when the
// chunks kept for a consumer that has not started reading grew past the
// limit. After the consumer cancelled, chunks are dropped.
func (q *chunkQueue) push(ctx context.Context, v any) error {
	q.mu.Lock()
	for q.reading && q.n >= q.cap && !q.cancelled {
		q.prodWaiting = true
		q.mu.Unlock()
		select {
		case <-q.notFull:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		q.mu.Lock()
	}
	if q.cancelled {
		q.mu.Unlock()
		return nil
	}
	if !q.reading {
		if q.held += 16 + registry.SizeOf(v); q.held > q.limit {
			q.mu.Unlock()
			return errHeld
		}
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	wake := q.consWaiting
	q.consWaiting = false
	q.mu.Unlock()
	if wake {
		signal(q.notEmpty)
	}
	return nil
}

func (q *chunkQueue) grow() {
	size := 2 * len(q.buf)
	if size < 16 {
		size = 16
	}
	buf := make([]any, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

// close ends the stream, with the producer's error if its run failed.
func (q *chunkQueue) close(err error) {
	q.mu.Lock()
	q.closeLocked(err)
}

// closeWith adds a last chunk, whatever the buffer holds, and ends the
// stream.
func (q *chunkQueue) closeWith(last any, err error) {
	q.mu.Lock()
	if !q.cancelled {
		if q.n == len(q.buf) {
			q.grow()
		}
		q.buf[(q.head+q.n)%len(q.buf)] = last
		q.n++
	}
	q.closeLocked(err)
}

// closeLocked ends the stream and unlocks q.
func (q *chunkQueue) closeLocked(err error) {
	q.closed, q.err = true, err
	wake := q.consWaiting
	q.consWaiting = false
	q.mu.Unlock()
	if wake {
		signal(q.notEmpty)
	}
}

// Next implements registry.Stream.
// The first call switches the queue to bounded mode.
func (q *chunkQueue) Next(ctx context.Context) (any, bool, error) {
	q.mu.Lock()
	q.reading = true
	for q.n == 0 && !q.closed && !q.cancelled {
		q.consWaiting = true
		q.mu.Unlock()
		select {
		case <-q.notEmpty:
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		}
		q.mu.Lock()
	}
	if q.cancelled {
		q.mu.Unlock()
		return nil, false, nil
	}
	if q.n == 0 {
		err := q.err
		q.mu.Unlock()
		return nil, false, err
	}
	v := q.buf[q.head]
	if !q.kept {
		q.buf[q.head] = nil
	}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	wake := q.prodWaiting && q.n <= q.cap/2
	if wake {
		q.prodWaiting = false
	}
	q.mu.Unlock()
	if wake {
		signal(q.notFull)
	}
	return v, true, nil
}

// All implements registry.Stream.
func (q *chunkQueue) All(ctx context.Context) iter.Seq2[any, error] {
	return registry.StreamAll(ctx, q)
}

// Cancel implements registry.Stream: the consumer wants no more chunks,
// and the producer's run is stopped.
func (q *chunkQueue) Cancel() { q.drop(true) }

// detach drops what the consumer left unread when its run ended, without
// stopping the producer, which goes on for its other consumers.
func (q *chunkQueue) detach() { q.drop(false) }

func (q *chunkQueue) drop(stopProducer bool) {
	q.mu.Lock()
	if q.cancelled {
		q.mu.Unlock()
		return
	}
	q.cancelled = true
	if !q.kept {
		q.buf, q.head, q.n = nil, 0, 0
	}
	wakeProd := q.prodWaiting
	q.prodWaiting = false
	closed, onCancel := q.closed, q.onCancel
	q.mu.Unlock()
	if wakeProd {
		signal(q.notFull)
	}
	if stopProducer && !closed && onCancel != nil {
		onCancel()
	}
}

// rewind makes a queue standing for values (valueQueue) yield its chunks
// again from the first, for a run restarted.
func (q *chunkQueue) rewind() {
	q.mu.Lock()
	q.head, q.n, q.cancelled = 0, len(q.buf), false
	q.mu.Unlock()
}

// void ends a queue of a producer's run that streams again from its
// first chunk (restream.go): its consumer's reads fail with
// errRestreamed, and nothing it does reaches the producer any more.
func (q *chunkQueue) void() {
	q.mu.Lock()
	q.buf, q.head, q.n = nil, 0, 0
	q.onCancel = nil
	wakeProd := q.prodWaiting
	q.prodWaiting = false
	q.closeLocked(errRestreamed)
	if wakeProd {
		signal(q.notFull)
	}
}

// waiting reports whether the consumer is blocked on an empty queue and
// whether the producer is blocked on a full one (for the stall report).
func (q *chunkQueue) waiting() (consumer, producer bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.consWaiting, q.prodWaiting
}
