package engine

import (
	"fmt"
	"strings"
	"time"
)

// watchStalls logs who waits for what when nothing progressed for
// StallTimeout while runs are in flight. It returns when stop is closed.
func (r *Runner) watchStalls(stop <-chan struct{}) {
	timeout := r.opts.StallTimeout
	tick := time.NewTicker(timeout / 2)
	defer tick.Stop()
	last, since, reported := r.progress.Load(), time.Now(), false
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			p := r.progress.Load()
			if p != last {
				last, since, reported = p, now, false
				continue
			}
			if reported || now.Sub(since) < timeout {
				continue
			}
			if report := r.stallReport(); report != "" {
				r.log.Warn("flow stalled: nothing progressed for "+timeout.String(), "waits", report)
				reported = true
			}
		}
	}
}

// stallReport describes every run in flight and every demanded node that
// cannot start, or returns "" when nothing is in flight.
func (r *Runner) stallReport() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == 0 {
		return ""
	}
	var lines []string
	for _, ns := range r.nodes {
		switch {
		case ns.running:
			lines = append(lines, r.describeRun(ns))
		case ns.demanded && !ns.stopped:
			for _, e := range ns.inputs {
				if e.from != nil && !e.fresh() {
					lines = append(lines, fmt.Sprintf("%s waits for a new run of %s", ns.n.ID, e.from.n.ID))
				}
			}
			for _, e := range ns.consumers {
				if c := e.to; c != ns && !c.stopped && ns.gen+e.seed > c.started() {
					lines = append(lines, fmt.Sprintf("%s waits for %s to take its previous value", ns.n.ID, c.n.ID))
				}
			}
		}
	}
	return strings.Join(lines, "; ")
}

func (r *Runner) describeRun(ns *nodeState) string {
	ru := ns.cur
	s := fmt.Sprintf("%s is in run %d", ns.n.ID, ru.gen+1)
	for i, q := range ru.streams {
		if q == nil {
			continue
		}
		if consumer, _ := q.waiting(); consumer {
			from := "its producer"
			if e := ns.inputs[i]; e.from != nil {
				from = e.from.n.ID
			}
			s += fmt.Sprintf(", waiting for a chunk from %s on %q", from, ns.n.Inputs[i].Name)
		}
	}
	for i, qs := range ru.outQueues {
		for j, q := range qs {
			if _, producer := q.waiting(); producer {
				s += fmt.Sprintf(", blocked emitting %q: %s has not read its buffer", ns.outputs[i].Name, ns.streamOut[i][j].to.n.ID)
			}
		}
	}
	return s
}
