package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/flowrun/flowrun/registry"
)

// errAborted ends the streams of an attempt the coordinator replaced by
// another (its task was redelivered): the attempt publishes no result.
var errAborted = errors.New("this attempt was replaced by another worker's")

// openLive subscribes to the chunks of the task's live stream inputs
// and opens each with a first grant of one window.
func (io *remoteIO) openLive() error {
	io.abortCh = make(chan struct{})
	for i, name := range io.t.Live {
		io.live = append(io.live, &liveStream{io: io, idx: i, name: name, notify: make(chan struct{}, 1)})
	}
	sub, err := io.w.nc.Subscribe(subjIn+"."+io.t.suffix()+"."+io.attempt, io.onIn)
	if err != nil {
		return err
	}
	io.liveSub = sub
	for _, s := range io.live {
		s.mu.Lock()
		err := s.grantLocked(io.window())
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (io *remoteIO) closeLive() {
	if io.liveSub != nil {
		_ = io.liveSub.Unsubscribe()
	}
}

func (io *remoteIO) window() int { return max(2, io.t.Window) }

// aborted reports whether the coordinator replaced this attempt.
func (io *remoteIO) aborted() bool {
	if io.abortCh == nil {
		return false
	}
	select {
	case <-io.abortCh:
		return true
	default:
		return false
	}
}

// onIn receives the coordinator's messages about the live inputs.
func (io *remoteIO) onIn(m *nats.Msg) {
	var msg inMsg
	if err := decodeJSON(m.Data, &msg); err != nil {
		return
	}
	if msg.Abort {
		io.abortOnce.Do(func() { close(io.abortCh) })
		return
	}
	if msg.Input < 0 || msg.Input >= len(io.live) {
		return
	}
	s := io.live[msg.Input]
	s.mu.Lock()
	switch {
	case s.ended:
	case msg.Seq != s.received:
		// Credit keeps core NATS from dropping chunks; should one be
		// lost anyway, the stream must not go on with a hole.
		s.ended, s.endErr = true, fmt.Errorf("stream input %q: chunk %d lost between the coordinator and the worker (got %d)", s.name, s.received+1, msg.Seq+1)
	default:
		for _, c := range msg.Chunks {
			s.buf = append(s.buf, registry.FromJSONNumbers(c))
		}
		s.received += len(msg.Chunks)
		if msg.End {
			s.ended = true
			switch {
			case msg.Interrupted:
				s.endErr = registry.ErrInterrupted
			case msg.Err != "":
				s.endErr = errors.New(msg.Err)
			}
		}
	}
	s.mu.Unlock()
	wake(s.notify)
}

// A liveStream is a stream input of a node on a worker, fed by the
// coordinator's relay within the credit the stream grants.
type liveStream struct {
	io     *remoteIO
	idx    int
	name   string
	notify chan struct{}

	mu        sync.Mutex
	buf       []any
	head      int
	received  int // chunks received
	consumed  int // chunks the node read
	granted   int // the relay may send chunks below this
	ended     bool
	endErr    error
	cancelled bool
}

// grantLocked lets the relay send chunks below upto.
func (s *liveStream) grantLocked(upto int) error {
	s.granted = upto
	data, _ := json.Marshal(inCredit{Attempt: s.io.attempt, Input: s.idx, Upto: upto})
	return s.io.w.nc.Publish(subjInCredit+"."+s.io.t.suffix(), data)
}

// Next implements registry.Stream.
func (s *liveStream) Next(ctx context.Context) (any, bool, error) {
	for {
		s.mu.Lock()
		switch {
		case s.cancelled:
			s.mu.Unlock()
			return nil, false, nil
		case s.io.aborted():
			s.mu.Unlock()
			return nil, false, errAborted
		case s.head < len(s.buf):
			v := s.buf[s.head]
			s.buf[s.head] = nil
			s.head++
			if s.head == len(s.buf) {
				s.buf, s.head = s.buf[:0], 0
			}
			s.consumed++
			if w := s.io.window(); s.granted-s.consumed <= w/2 && !s.ended {
				_ = s.grantLocked(s.consumed + w)
			}
			s.mu.Unlock()
			return v, true, nil
		case s.ended:
			err := s.endErr
			s.mu.Unlock()
			return nil, false, err
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-s.io.abortCh:
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		}
	}
}

// Cancel implements registry.Stream: the relay cancels the stream in the
// coordinator, which stops the producer.
func (s *liveStream) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled {
		return
	}
	s.cancelled, s.buf = true, nil
	data, _ := json.Marshal(inCredit{Attempt: s.io.attempt, Input: s.idx, Upto: s.granted, Cancel: true})
	_ = s.io.w.nc.Publish(subjInCredit+"."+s.io.t.suffix(), data)
}

func (s *liveStream) isCancelled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

// All implements registry.Stream.
func (s *liveStream) All(ctx context.Context) iter.Seq2[any, error] {
	return registry.StreamAll(ctx, s)
}
