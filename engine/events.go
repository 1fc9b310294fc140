package engine

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
)

// An eventLog writes the run's events as JSON lines. A nil *eventLog
// writes nothing, so the hot path pays one nil check when events are off.
//
// Every event has "seq" (its position in the log), "event" ("start",
// "chunk", "restart" or "end"), "node" and "run" (the run's number, from 1). A start
// event has "inputs" (the value of every value input) and, when some input
// was fed from its default, "defaulted". A chunk event has "output" and
// "value". An end event has "outputs" (the run's final values), for a
// failed run "error", and for a run that ended the flow "stop": why
// (control.stop's reason, or the stop error). A run cut short by an
// interrupt or by the end of the flow has "cut": true and no outputs,
// since its values are not passed on. An end event of a run that another
// process ran (a worker of the cluster package) has "worker": its name.
// A restart event says the run starts over, as from its start event: the
// chunks it emitted before are void. It has "by", the producer whose
// stream the run reads, when that producer streams again (see
// NodeRun.Restream), and no "by" for the producer itself.
type eventLog struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	seq int
	err error
}

func newEventLog(w io.Writer) *eventLog {
	bw := bufio.NewWriter(w)
	return &eventLog{w: bw, enc: json.NewEncoder(bw)}
}

type event struct {
	Seq       int            `json:"seq"`
	Event     string         `json:"event"`
	Node      string         `json:"node"`
	Run       int            `json:"run"`
	Inputs    map[string]any `json:"inputs,omitempty"`
	Defaulted []string       `json:"defaulted,omitempty"`
	Output    string         `json:"output,omitempty"`
	Value     any            `json:"value,omitempty"`
	Outputs   map[string]any `json:"outputs,omitempty"`
	Error     string         `json:"error,omitempty"`
	Stop      string         `json:"stop,omitempty"`
	Cut       bool           `json:"cut,omitempty"`
	Worker    string         `json:"worker,omitempty"`
	By        string         `json:"by,omitempty"`
}

func (l *eventLog) write(e *event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if err := l.enc.Encode(e); err != nil && l.err == nil {
		l.err = err
	}
}

func (l *eventLog) start(ru *run) {
	if l == nil {
		return
	}
	e := &event{Event: "start", Node: ru.node.n.ID, Run: ru.gen + 1, Inputs: map[string]any{}}
	for i, b := range ru.node.n.Inputs {
		if ru.streams[i] == nil || !b.Spec.Stream {
			e.Inputs[b.Name] = ru.vals[i]
		}
		if ru.defaulted[i] {
			e.Defaulted = append(e.Defaulted, b.Name)
		}
	}
	l.write(e)
}

func (l *eventLog) chunk(ru *run, out int, v any) {
	if l == nil {
		return
	}
	l.write(&event{Event: "chunk", Node: ru.node.n.ID, Run: ru.gen + 1, Output: ru.node.outputs[out].Name, Value: v})
}

func (l *eventLog) end(ru *run, err error) {
	if l == nil {
		return
	}
	e := &event{Event: "end", Node: ru.node.n.ID, Run: ru.gen + 1, Worker: ru.worker}
	if ru.cut {
		e.Cut = true // its values are not passed on
	} else {
		e.Outputs = make(map[string]any, len(ru.node.outputs))
		for i, o := range ru.node.outputs {
			e.Outputs[o.Name] = ru.finals[i]
		}
	}
	if err != nil {
		e.Error = err.Error()
	}
	if ru.stop {
		e.Stop = ru.stopNote
	}
	l.write(e)
}

// restart records that run ru starts over: the chunks it emitted since
// its start (or its last restart) are void. by is the producer whose new
// stream it reads again, nil when the run itself streams again.
func (l *eventLog) restart(ru *run, by *nodeState) {
	if l == nil {
		return
	}
	e := &event{Event: "restart", Node: ru.node.n.ID, Run: ru.gen + 1}
	if by != nil {
		e.By = by.n.ID
	}
	l.write(e)
}

func (l *eventLog) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}
