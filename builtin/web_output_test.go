package builtin

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// TestWebOutputEvents runs web.output over given streams and checks the
// events a page receives (the page itself: tests/web_test.go).
func TestWebOutputEvents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  *nodetest.Source
		usage   *nodetest.Source
		want    string
		wantOut any
	}{
		{"whole", nodetest.Chunks("Hi", " there"), nodetest.Chunks(map[string]any{"completion_tokens": 2}),
			"start:Hi: there:usage:end", "Hi there"},
		{"reasoning", nodetest.Chunks("Yes"), nodetest.Chunks(),
			"start:think:Yes:end", "Yes"},
		{"failed", nodetest.Chunks("Hi").Fail(errors.New("HTTP 503")), nodetest.Chunks(),
			"start:Hi:error HTTP 503:end", "Hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := lookup(t, "web.output")
			n := nodetest.New(t, spec, nodetest.Setup{Params: map[string]any{"listen": "127.0.0.1:0"}, Env: registry.Env{Shared: registry.NewShared()}})
			h := n.Impl.(*webOutputNode).hub
			streams := map[string]*nodetest.Source{"answer": tc.answer, "usage": tc.usage}
			if tc.name == "reasoning" {
				// The reasoning ends before the answer starts: the order
				// of the events is then known.
				streams["reasoning"] = nodetest.Chunks("think")
				ch := make(chan any)
				streams["answer"] = nodetest.Chan(ch)
				go func() {
					for len(h.History()) < 2 { // start, reasoning
						runtime.Gosched()
					}
					ch <- "Yes"
					close(ch)
				}()
			}
			res := n.Run(t, nodetest.In{Streams: streams})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Out() != tc.wantOut {
				t.Errorf("out = %#v, want %#v", res.Out(), tc.wantOut)
			}
			var got []string
			for _, e := range h.History() {
				switch e.Type {
				case "chunk":
					got = append(got, e.Text)
				case "reasoning":
					got = append(got, e.Text)
				case "error":
					got = append(got, "error "+e.Text)
				default:
					got = append(got, e.Type)
				}
			}
			if s := strings.Join(got, ":"); s != tc.want {
				t.Errorf("events %s, want %s", s, tc.want)
			}
		})
	}
}

// An answer whose stream starts over (registry.ErrRestarted): the run
// ends without an end event, the page is told to mark the lost part, and
// the engine's next run continues the same turn with the new answer.
func TestWebOutputAnswerRestarts(t *testing.T) {
	spec := lookup(t, "web.output")
	if !spec.Stateful || !spec.Restartable {
		t.Fatalf("web.output: Stateful %v Restartable %v, want both", spec.Stateful, spec.Restartable)
	}
	n := nodetest.New(t, spec, nodetest.Setup{Params: map[string]any{"listen": "127.0.0.1:0"}, Env: registry.Env{Shared: registry.NewShared()}})
	h := n.Impl.(*webOutputNode).hub
	res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"answer": nodetest.Chunks("Once", " up").Fail(fmt.Errorf("read: %w", registry.ErrRestarted)),
	}})
	if !errors.Is(res.Err, registry.ErrRestarted) {
		t.Fatalf("restarted run: err %v, want ErrRestarted", res.Err)
	}
	for _, answer := range []string{"A long time ago.", "Next."} {
		res = n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
			"answer": nodetest.Chunks(answer),
			"usage":  nodetest.Chunks(),
		}})
		if res.Err != nil || res.Out() != answer {
			t.Fatalf("run: out %#v, err %v; want %q", res.Out(), res.Err, answer)
		}
	}
	var got []string
	for _, e := range h.History() {
		got = append(got, fmt.Sprintf("%s %d %s", e.Type, e.Turn, e.Text))
	}
	want := "start 1 |chunk 1 Once|chunk 1  up|restart 1 |chunk 1 A long time ago.|end 1 |start 2 |chunk 2 Next.|end 2 "
	if s := strings.Join(got, "|"); s != want {
		t.Errorf("events\n%s\nwant\n%s", s, want)
	}
}
