package builtin

import (
	"errors"
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
