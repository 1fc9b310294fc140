package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/registry"
)

// StateBucket is the key-value bucket holding the state of stateful nodes
// that run on workers: one key per (flow run, node).
const StateBucket = "flowrun_state"

// ensureStateBucket creates or updates the state bucket.
func ensureStateBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := createBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      StateBucket,
		Description: "state of flowrun's stateful nodes on workers, by run and node",
		History:     1,
		Storage:     jetstream.FileStorage,
		MaxBytes:    1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", StateBucket, err)
	}
	return kv, nil
}

// stateKey is the key of a node's state in the state bucket: the run id,
// a dot, the node id as a subject token ('~' becomes '=', which keys
// allow and tokens never hold otherwise).
func stateKey(run, node string) string {
	return run + "." + keyToken(node)
}

// stateSubjects are the subjects of a flow run's keys in the bucket's
// stream.
func stateSubjects(run string) string { return "$KV." + StateBucket + "." + run + ".>" }

// savesState reports whether nodes of type spec carry their state from
// worker to worker.
func savesState(spec *registry.Spec) bool { return spec.Stateful && spec.SavesState }

// A stateRecord is the value of a node's key: the state its node saved
// after the run (Gen, Try) and that run's result. Keeping the result makes
// a redelivered run idempotent: a worker that finds the record of the run
// it was handed publishes the recorded result instead of running the node
// on the state that run already changed.
type stateRecord struct {
	Gen int `json:"gen"`
	Try int `json:"try"`
	// Saved says State holds what MarshalState gave; false means the
	// node's state is that of a fresh instance (its run never got as far
	// as saving, or it has not run yet).
	Saved  bool   `json:"saved,omitempty"`
	State  []byte `json:"state,omitempty"`
	Result result `json:"result"`
}

// after reports whether the record is of a run dispatched after t: runs of
// a node are dispatched one at a time, in (generation, try) order.
func (r *stateRecord) after(t *task) bool {
	return r.Gen > t.Gen || (r.Gen == t.Gen && r.Try > t.Try)
}

// of reports whether the record is of run t.
func (r *stateRecord) of(t *task) bool { return r.Gen == t.Gen && r.Try == t.Try }

// loadState reads the record of t's node: nil and revision 0 when there
// is none.
func (w *Worker) loadState(ctx context.Context, t *task) (*stateRecord, uint64, error) {
	e, err := w.state.Get(ctx, stateKey(t.Run, t.Node))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the node's state: %w", err)
	}
	var rec stateRecord
	if err := decodeJSON(e.Value(), &rec); err != nil {
		return nil, 0, fmt.Errorf("the node's saved state is undecodable: %w", err)
	}
	for k, v := range rec.Result.Outputs {
		rec.Result.Outputs[k] = registry.FromJSONNumbers(v)
	}
	return &rec, e.Revision(), nil
}

// storeState writes rec over the revision read before the run (Create
// when there was none): a compare-and-set, so that of two workers running
// the same run only one records it.
func (w *Worker) storeState(ctx context.Context, t *task, data []byte, rev uint64) (err error) {
	key := stateKey(t.Run, t.Node)
	if rev == 0 {
		_, err = w.state.Create(ctx, key, data)
	} else {
		_, err = w.state.Update(ctx, key, data, rev)
	}
	return err
}

// casConflict reports whether a state write failed because the key
// changed since it was read.
func casConflict(err error) bool { return errors.Is(err, jetstream.ErrKeyExists) }

// purgeState removes the keys of a flow run from the state bucket (which
// exists once a worker started).
func purgeState(ctx context.Context, js jetstream.JetStream, run string) error {
	s, err := js.Stream(ctx, "KV_"+StateBucket)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Purge(ctx, jetstream.WithPurgeSubject(stateSubjects(run)))
}

// A stateRun is the state side of one run of a stateful node on a worker.
type stateRun struct {
	rec   *stateRecord // read before the run; nil when there is none
	rev   uint64       // its revision
	saved []byte       // what MarshalState gave after the run
	ok    bool         // saved is set
}

// What a worker does with a stateful node's task, from the record it read.
const (
	actRun    = iota // run the node on the recorded state
	actReplay        // the record is this run's: publish its result
	actStale         // the record is of a later run: ack and drop
	actLater         // no decision (the bucket cannot be read): redeliver
)

// beforeStatefulRun reads the node's record and decides: run, replay the
// recorded result (a redelivery of a run whose state was written), drop a
// stale redelivery, or fail when the state of an earlier generation is
// missing.
func (w *Worker) beforeStatefulRun(ctx context.Context, t *task) (*stateRun, result, int) {
	rec, rev, err := w.loadState(ctx, t)
	switch {
	case err != nil:
		w.log.Warn("cannot read a node's state; the run will be redelivered", "node", t.Node, "generation", t.Gen+1, "error", err)
		return nil, result{}, actLater
	case rec != nil && rec.of(t):
		w.replays.Add(1)
		return nil, rec.Result, actReplay
	case rec != nil && rec.after(t):
		w.stale.Add(1)
		return nil, result{}, actStale
	case rec == nil && t.Gen > 0:
		res := result{Worker: w.opts.ID, Kind: kindFail, Error: fmt.Sprintf(
			"the state node %q saved after its run %d is not in the %s bucket (was the NATS server's store reset?)", t.Node, t.Gen, StateBucket)}
		return nil, res, actReplay
	}
	return &stateRun{rec: rec, rev: rev}, result{}, actRun
}

// restore gives a fresh node the recorded state.
func (st *stateRun) restore(node registry.Node, typ string) (err error) {
	if st.rec == nil || !st.rec.Saved {
		return nil
	}
	sm, ok := node.(registry.StateMarshaler)
	if !ok {
		return notMarshaler(node, typ)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if err := sm.UnmarshalState(st.rec.State); err != nil {
		return fmt.Errorf("restoring the node's state: %w", err)
	}
	return nil
}

// save records the node's state after its run.
func (st *stateRun) save(node registry.Node, typ string) (err error) {
	sm, ok := node.(registry.StateMarshaler)
	if !ok {
		return notMarshaler(node, typ)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	data, err := sm.MarshalState()
	if err != nil {
		return fmt.Errorf("saving the node's state: %w", err)
	}
	st.saved, st.ok = data, true
	return nil
}

func notMarshaler(node registry.Node, typ string) error {
	return fmt.Errorf("node type %s declares SavesState, but its node %T does not implement registry.StateMarshaler (MarshalState, UnmarshalState)", typ, node)
}

// record encodes the record of run t. A record too large for the server
// (or that cannot be encoded) is replaced by one that keeps the state of
// before the run and records the run as failed, saying why: a run that
// cannot be recorded must fail, not come back forever.
func (w *Worker) record(t *task, st *stateRun, res result) ([]byte, result) {
	rec := &stateRecord{Gen: t.Gen, Try: t.Try, Saved: st.ok, State: st.saved, Result: res.exact()}
	if !st.ok && st.rec != nil {
		// The run did not get as far as saving: the state stays.
		rec.Saved, rec.State = st.rec.Saved, st.rec.State
	}
	data, err := json.Marshal(rec)
	limit := int(w.nc.MaxPayload()) - 4096 // room for the message's headers
	if err == nil && len(data) <= limit {
		return data, res
	}
	if err == nil {
		err = fmt.Errorf("its state and outputs take %d bytes once recorded, over the %d the NATS server allows in a message; keep less state, or run the node with placement: local", len(data), limit)
	}
	res = result{Attempt: res.Attempt, Worker: res.Worker, Kind: kindFail, Error: "recording the node's state: " + err.Error()}
	rec = &stateRecord{Gen: t.Gen, Try: t.Try, Result: res}
	if st.rec != nil {
		rec.Saved, rec.State = st.rec.Saved, st.rec.State
	}
	data, _ = json.Marshal(rec)
	return data, res
}

// afterStatefulRun records the run's state and result by compare-and-set
// before the result is published, and returns the result to publish and
// what to do: actRun (publish res), actReplay (another worker
// recorded this run first: publish its result), actStale or actLater.
func (w *Worker) afterStatefulRun(ctx context.Context, t *task, st *stateRun, res result) (result, int) {
	data, res := w.record(t, st, res)
	err := w.storeState(ctx, t, data, st.rev)
	if err == nil {
		return res, actRun
	}
	if !casConflict(err) {
		w.log.Warn("cannot record a node's state; the run will be redelivered", "node", t.Node, "generation", t.Gen+1, "error", err)
		return res, actLater
	}
	// Another worker ran the same run (a redelivery while this one was
	// still running) and recorded it first.
	cur, _, err := w.loadState(ctx, t)
	switch {
	case err != nil || cur == nil:
		return res, actLater
	case cur.of(t):
		w.replays.Add(1)
		return cur.Result, actReplay
	case cur.after(t):
		w.stale.Add(1)
		return res, actStale
	}
	return res, actLater
}
