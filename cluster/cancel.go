package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CancelBucket is the key-value bucket where coordinators record the node
// runs they cancel, so that a cancel reaches a worker even when the core
// message on flowrun.cancel.<run> (the fast path) is lost: published
// while the coordinator's or the worker's connection was down. Keys are
// <run>.all for a whole flow run and <run>.<node>.<gen>.<try> for one try
// of a node run; workers watch the bucket.
const CancelBucket = "flowrun_cancel"

// cancelTTL is how long a cancel stays in the bucket (and in a worker's
// memory): far longer than a worker stays disconnected and still holds
// its runs (it loses them after the ack wait), and short enough that a
// worker starting loads few of them.
const cancelTTL = 15 * time.Minute

// cancelPutTimeout bounds one attempt to record a cancel; cancelRetry is
// how long a failed attempt waits for a reconnect before trying again.
const (
	cancelPutTimeout = 5 * time.Second
	cancelRetry      = time.Second
)

// closeFlushWait is how long Close waits for its cancels to be recorded
// while the coordinator's connection is down (reconnecting).
const closeFlushWait = 5 * time.Second

// ensureCancelBucket creates or updates the cancel bucket.
func ensureCancelBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := createBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      CancelBucket,
		Description: "node runs cancelled by flowrun coordinators, by run, node, generation and try",
		History:     1,
		TTL:         cancelTTL,
		Storage:     jetstream.FileStorage,
		// No MaxBytes: the TTL bounds it, and the server reserves a
		// stream's MaxBytes in its store limit (the embedded server's
		// 4 GiB hold the other streams' already).
	})
	if err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", CancelBucket, err)
	}
	return kv, nil
}

// keyToken turns a node id into one token of a key-value key: token, with
// '~' (which keys do not allow) as '='.
func keyToken(node string) string { return strings.Replace(token(node), "~", "=", 1) }

// cancelKey is the key of one try of a node run in the cancel bucket.
func cancelKey(run, node string, gen, try int) string {
	return run + "." + keyToken(node) + "." + strconv.Itoa(gen) + "." + strconv.Itoa(try)
}

// cancelAllKey is the key of a whole flow run in the cancel bucket.
func cancelAllKey(run string) string { return run + ".all" }

// cancelLog records an executor's cancels in the cancel bucket. Puts
// happen in the background, in order, one goroutine at a time; a put
// that fails (the connection is down) is tried again after the next
// reconnect (Executor.Reconnected), or after cancelRetry.
type cancelLog struct {
	kv jetstream.KeyValue

	mu       sync.Mutex
	recorded map[string]bool // keys recorded or queued
	pending  []cancelEntry   // not confirmed yet, in order
	putting  chan struct{}   // closed when the putting goroutine ends; nil when none runs
	stop     chan struct{}   // closed by Close to stop putting
	stopped  bool
}

type cancelEntry struct{ key, what string }

// record queues a cancel to put, once per key; what is the core
// message's payload, kept as the value for people reading the bucket.
func (e *Executor) recordCancel(key, what string) {
	c := &e.cancels
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recorded[key] || c.stopped {
		return
	}
	if c.recorded == nil {
		c.recorded = map[string]bool{}
		c.stop = make(chan struct{})
	}
	c.recorded[key] = true
	c.pending = append(c.pending, cancelEntry{key, what})
	if c.putting == nil {
		c.putting = make(chan struct{})
		go e.putCancels(c.putting)
	}
}

// putCancels puts the pending cancels until none is left or Close stops
// it.
func (e *Executor) putCancels(done chan struct{}) {
	c := &e.cancels
	defer close(done)
	for {
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.putting = nil
			c.mu.Unlock()
			return
		}
		ce, stop := c.pending[0], c.stop
		c.mu.Unlock()
		recheck := e.recheckSignal()
		err := e.putCancel(ce, recheck, stop)
		if err == nil {
			c.mu.Lock()
			c.pending = c.pending[1:]
			c.mu.Unlock()
			continue
		}
		e.log.Debug("cannot record a cancel yet; trying again after a reconnect", "key", ce.key, "error", err)
		retry := time.NewTimer(cancelRetry)
		select {
		case <-recheck:
		case <-retry.C:
		case <-stop:
		}
		retry.Stop()
		select {
		case <-stop:
			c.mu.Lock()
			c.putting = nil
			c.mu.Unlock()
			return
		default:
		}
	}
}

// putCancel puts one cancel; a reconnect or stop abandons the attempt (a
// put lost with the connection would wait for its timeout).
func (e *Executor) putCancel(ce cancelEntry, recheck, stop <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), cancelPutTimeout)
	defer cancel()
	go func() {
		select {
		case <-recheck:
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	_, err := e.cancels.kv.Put(ctx, ce.key, []byte(ce.what))
	return err
}

// flushCancels waits up to wait for the pending cancels to be recorded,
// returning early when the connection is lost for good, then stops
// putting. It returns the keys left unrecorded.
func (e *Executor) flushCancels(wait time.Duration) []string {
	c := &e.cancels
	c.mu.Lock()
	putting := c.putting
	c.mu.Unlock()
	if putting != nil {
		t := time.NewTimer(wait)
		select {
		case <-putting:
		case <-t.C:
		case <-e.lost:
		}
		t.Stop()
	}
	c.mu.Lock()
	c.stopped = true
	if c.stop != nil {
		close(c.stop)
	}
	putting = c.putting
	c.mu.Unlock()
	if putting != nil {
		<-putting
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var left []string
	for _, ce := range c.pending {
		left = append(left, ce.key)
	}
	return left
}

// A cancelWatch follows the cancel bucket for a worker: every cancel put
// there cancels the matching runs in flight and is remembered, so that a
// task taken later for a cancelled run is dropped (see Worker.take).
//
// A key-value watcher is an ordered push consumer: the client detects a
// gap (a message lost while the connection was down, or a consumer the
// server removed while the worker was away) by its idle heartbeats and
// recreates the consumer from the last stream sequence it saw, within
// 5-10 s. The watch does not wait for that: on every reconnect it
// replaces the watcher by one resuming after the last revision it saw.
type cancelWatch struct {
	w       *Worker
	status  chan nats.Status
	last    uint64 // the last revision seen
	watcher jetstream.KeyWatcher
	stop    context.CancelFunc
	done    chan struct{}
}

// watchCancels starts following the cancel bucket; it returns once the
// cancels already recorded are known.
func (w *Worker) watchCancels(ctx context.Context) (*cancelWatch, error) {
	cw := &cancelWatch{w: w, status: w.nc.StatusChanged(nats.CONNECTED), done: make(chan struct{})}
	var err error
	if cw.watcher, err = w.cancels.WatchAll(ctx); err != nil {
		w.nc.RemoveStatusListener(cw.status)
		return nil, fmt.Errorf("watching bucket %s: %w", CancelBucket, err)
	}
	for initial := true; initial; {
		select {
		case entry, ok := <-cw.watcher.Updates():
			if !ok || entry == nil {
				initial = false
				break
			}
			cw.apply(entry)
		case <-ctx.Done():
			cw.stopWatcher()
			w.nc.RemoveStatusListener(cw.status)
			return nil, ctx.Err()
		}
	}
	var fctx context.Context
	fctx, cw.stop = context.WithCancel(context.Background())
	go cw.follow(fctx)
	return cw, nil
}

// close stops the watch.
func (cw *cancelWatch) close() {
	cw.stop()
	<-cw.done
	cw.w.nc.RemoveStatusListener(cw.status)
}

func (cw *cancelWatch) apply(entry jetstream.KeyValueEntry) {
	cw.last = max(cw.last, entry.Revision())
	if entry.Operation() == jetstream.KeyValuePut {
		cw.w.cancelKey(entry.Key())
	}
}

// stopWatcher stops the current watcher. Its callback blocks while the
// watcher's channel is full, so the channel is read until it is closed,
// in the background: that is when the subscription's delivery goroutine
// ends, at once after Stop, or (seen once under -race: Stop left the
// subscription open) when the connection closes.
func (cw *cancelWatch) stopWatcher() {
	if cw.watcher == nil {
		return
	}
	if err := cw.watcher.Stop(); err != nil {
		cw.w.log.Debug("cannot stop a watch of the cancels", "error", err)
	}
	updates := cw.watcher.Updates()
	cw.watcher = nil
	go func() {
		for range updates {
		}
	}()
}

func (cw *cancelWatch) follow(ctx context.Context) {
	defer close(cw.done)
	defer cw.stopWatcher()
	retry := time.NewTimer(cancelRetry)
	retry.Stop()
	defer retry.Stop()
	rewatch := func() {
		cw.stopWatcher()
		var err error
		if cw.watcher, err = cw.w.cancels.WatchAll(ctx, jetstream.ResumeFromRevision(cw.last+1)); err != nil {
			cw.watcher = nil
			cw.w.log.Debug("cannot watch the cancels; trying again", "error", err)
			retry.Reset(cancelRetry)
		}
	}
	for {
		var updates <-chan jetstream.KeyValueEntry
		if cw.watcher != nil {
			updates = cw.watcher.Updates()
		}
		select {
		case entry, ok := <-updates:
			if !ok {
				cw.watcher = nil
				rewatch()
				continue
			}
			if entry != nil {
				cw.apply(entry)
			}
		case <-cw.status:
			// Reconnected: cancels put while the connection was down
			// come now rather than when the watcher notices its gap.
			rewatch()
		case <-retry.C:
			rewatch()
		case <-ctx.Done():
			return
		}
	}
}

// cancelKey cancels the runs in flight that key (of the cancel bucket)
// names and remembers it for the tasks taken later.
func (w *Worker) cancelKey(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.cancelled[key]; ok {
		return
	}
	w.cancelled[key] = time.Now()
	for _, r := range w.running {
		if r.ckey == key || r.run+".all" == key {
			r.cancel(errRunCancelled)
		}
	}
}

// isCancelled reports whether the run of t was cancelled. w.mu is held.
func (w *Worker) isCancelled(t *task, ckey string) bool {
	if _, ok := w.cancelled[ckey]; ok {
		return true
	}
	_, ok := w.cancelled[cancelAllKey(t.Run)]
	return ok
}

// forgetCancels drops the cancels older than the bucket keeps them.
func (w *Worker) forgetCancels() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, at := range w.cancelled {
		if time.Since(at) > cancelTTL {
			delete(w.cancelled, k)
		}
	}
}

// errCancelNotRecorded says Close could not record the flow run's cancel.
var errCancelNotRecorded = errors.New("not connected to the NATS server")
