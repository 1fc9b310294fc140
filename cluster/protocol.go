package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowrun/flowrun/registry"
)

// Stream, bucket and subject names.
const (
	TasksStream   = "FLOWRUN_TASKS"
	ResultsStream = "FLOWRUN_RESULTS"
	WorkersBucket = "flowrun_workers"

	subjTask   = "flowrun.task"
	subjResult = "flowrun.result"
	subjChunk  = "flowrun.chunk"
	subjCredit = "flowrun.credit"
	subjCancel = "flowrun.cancel"
)

// DefaultAckWait is how long a node run may go without a heartbeat from
// its worker before the queue hands it to another worker: the recovery
// time after a worker is lost.
const DefaultAckWait = 5 * time.Second

// DefaultMaxDeliveries is how many deliveries of a node run may end
// without a result (each worker that took it died or stopped) before the
// run fails: a run whose worker dies every time (a poison task) fails
// the flow run instead of killing workers forever. The worker handed the
// next delivery reports the failure (see Worker.poisoned).
const DefaultMaxDeliveries = 5

// workerTTL is how long a worker's announcement lives without a heartbeat.
const workerTTL = 6 * time.Second

var safeToken = regexp.MustCompile(`^[A-Za-z0-9/.-]+$`)

// token turns a node id or type into one subject token, one to one: a
// name of letters, digits, '/', '-' and '.' has its dots replaced by '_';
// any other name is base64url encoded behind a '~'.
func token(s string) string {
	if safeToken.MatchString(s) {
		return strings.ReplaceAll(s, ".", "_")
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// consumerName is the durable consumer of a node type's tasks.
func consumerName(typ string) string { return "type_" + token(typ) }

// A task is one node run shipped to a worker.
type task struct {
	Run    string         `json:"run"`
	Node   string         `json:"node"`
	Type   string         `json:"type"`
	Gen    int            `json:"gen"`
	Try    int            `json:"try"`
	Dir    string         `json:"dir"`
	Params map[string]any `json:"params,omitempty"`
	Inputs []string       `json:"inputs,omitempty"`
	// Values holds the value inputs, Streams the chunks of stream inputs,
	// Defaulted the inputs fed from a default.
	Values    map[string]any   `json:"values,omitempty"`
	Streams   map[string][]any `json:"streams,omitempty"`
	Defaulted []string         `json:"defaulted,omitempty"`
	// Live names the stream inputs the coordinator relays as they
	// arrive (relay.go); message i of flowrun.in is about Live[i].
	Live []string `json:"live,omitempty"`
	// Window is the credit window of a streamed run's chunks, out of the
	// worker and into it.
	Window int `json:"window,omitempty"`
}

func (t *task) key() string { return fmt.Sprintf("%s/%s/%d", t.Run, t.Node, t.Gen) }

// msgID is the task's deduplication id: run/node/gen, and /tN for a
// retry of the same generation by the node's retry policy.
func (t *task) msgID() string {
	if t.Try == 0 {
		return t.key()
	}
	return fmt.Sprintf("%s/t%d", t.key(), t.Try)
}

func (t *task) suffix() string {
	return fmt.Sprintf("%s.%s.%d.%d", t.Run, token(t.Node), t.Gen, t.Try)
}

// Result kinds.
const (
	kindOK        = ""
	kindFail      = "fail"
	kindStop      = "stop"
	kindDone      = "done"
	kindCancelled = "cancelled"
	// kindCut: the run ended because a stream it read was interrupted
	// upstream; kindAborted (never published): the coordinator replaced
	// the attempt by another.
	kindCut     = "cut"
	kindAborted = "aborted"
	// kindPoison: the run was delivered more than MaxDeliveries times;
	// the worker handed the next delivery did not run it. It fails the
	// run whatever chunks earlier deliveries streamed.
	kindPoison = "poison"
)

// A result is what a worker reports for a task.
type result struct {
	Attempt string         `json:"attempt"`
	Worker  string         `json:"worker"`
	Outputs map[string]any `json:"outputs,omitempty"`
	Chunks  int            `json:"chunks"`
	Kind    string         `json:"kind,omitempty"`
	Error   string         `json:"error,omitempty"`
	// Cancelled lists the live stream inputs the run cancelled.
	Cancelled []string `json:"cancelled,omitempty"`
}

// decodeJSON decodes a JSON value as the engine's values are shaped:
// integers as int, other numbers as float64.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// exact returns a copy of t whose values keep their Go types once
// encoded (see registry.ExactNumbers).
func (t *task) exact() *task {
	c := *t
	c.Params = exactValues(t.Params)
	c.Values = exactValues(t.Values)
	if t.Streams != nil {
		c.Streams = make(map[string][]any, len(t.Streams))
		for k, cs := range t.Streams {
			c.Streams[k] = registry.ExactNumbers(cs).([]any)
		}
	}
	return &c
}

// exact returns a copy of r whose outputs keep their Go types once
// encoded.
func (r result) exact() result {
	r.Outputs = exactValues(r.Outputs)
	return r
}

func exactValues(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return registry.ExactNumbers(m).(map[string]any)
}

// ensureStreams creates or updates the streams and the workers bucket.
func ensureStreams(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	err := createStream(ctx, js, jetstream.StreamConfig{
		Name:       TasksStream,
		Subjects:   []string{subjTask + ".>"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		MaxBytes:   1 << 30,
		Discard:    jetstream.DiscardNew,
	})
	if err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", TasksStream, err)
	}
	err = createStream(ctx, js, jetstream.StreamConfig{
		Name:                 ResultsStream,
		Subjects:             []string{subjResult + ".>"},
		Retention:            jetstream.LimitsPolicy,
		Storage:              jetstream.FileStorage,
		Duplicates:           2 * time.Minute,
		MaxAge:               time.Hour,
		MaxMsgsPerSubject:    1,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		MaxBytes:             1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", ResultsStream, err)
	}
	kv, err := createBucket(ctx, js, jetstream.KeyValueConfig{Bucket: WorkersBucket, TTL: workerTTL, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", WorkersBucket, err)
	}
	return kv, nil
}

// createStream creates a stream, or updates it when it exists with another
// configuration. An update of an unchanged stream is not free, and in
// nats-server 2.15 it races (go test -race) with a consumer being created
// on the stream by another worker starting at the same time.
func createStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		_, err = js.UpdateStream(ctx, cfg)
	}
	return err
}

// createBucket is createStream for a key-value bucket.
func createBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.UpdateKeyValue(ctx, cfg)
	}
	return kv, err
}

// alreadyRecorded reports whether a result publish failed only because
// the result is already stored (a redelivered task's second result).
func alreadyRecorded(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10077
}

// A workerInfo is what a worker announces in the workers bucket.
type workerInfo struct {
	ID    string   `json:"id"`
	Host  string   `json:"host"`
	PID   int      `json:"pid"`
	Types []string `json:"types"`
}
