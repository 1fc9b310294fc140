//go:build unix

package tests

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// echoChat is a term.chat flow that answers every prompt in upper case.
const echoChat = `version: 1
nodes:
  chat:
    type: term.chat
    inputs: {answer: shout}
    with: {prompt: "you> "}
  shout:
    type: text.upper
    inputs: {s: chat.prompt}
`

// TestEmbedTermChatLeavesNoGoroutine runs a term.chat flow in a
// pseudo-terminal the way a Go program embedding flowrun does (graph.Load
// and engine.Run, no CLI) and checks that nothing is left running
// afterwards: the line editor's goroutine, even one blocked reading the
// terminal, ends when the engine closes the node.
func TestEmbedTermChatLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		end    func(ptmx io.Writer, out *watchBuffer, at int, cancel context.CancelFunc)
		reason string
	}{{
		name: "exit typed",
		end: func(ptmx io.Writer, out *watchBuffer, at int, _ context.CancelFunc) {
			io.WriteString(ptmx, "hello\r")
			at = out.waitFor(t, at, "HELLO", waitTime)
			out.waitFor(t, at, "you> ", waitTime)
			io.WriteString(ptmx, "/exit\r")
		},
		reason: engine.ReasonStopped,
	}, {
		// The editor's goroutine is blocked reading the terminal when the
		// flow is cancelled.
		name:   "cancelled at the prompt",
		end:    func(_ io.Writer, _ *watchBuffer, _ int, cancel context.CancelFunc) { cancel() },
		reason: engine.ReasonInterrupted,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			out := newWatchBuffer()
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				answerCursorQueries(out, ptmx) // ends once ptmx is closed
				out.Close()
			}()
			// Closing both sides ends every read of the terminal, a leaked
			// one included, and then the copy.
			defer func() {
				tty.Close()
				ptmx.Close()
				select {
				case <-copied:
				case <-time.After(waitTime):
					t.Error("the terminal's output was never closed")
				}
			}()
			before := goleak.IgnoreCurrent()

			flow, err := graph.Load("chat.yaml", []byte(echoChat), reg, graph.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			type outcome struct {
				res *engine.Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				env := registry.Env{Stdin: tty, Stdout: tty, Stderr: tty, Interactive: true}
				res, err := engine.Run(ctx, flow, engine.Options{Env: env})
				done <- outcome{res, err}
			}()
			at := out.waitFor(t, 0, "you> ", waitTime)
			tt.end(ptmx, out, at, cancel)
			got := <-done
			if got.res == nil || got.res.Reason != tt.reason {
				t.Fatalf("result %+v, error %v; want reason %q", got.res, got.err, tt.reason)
			}
			if got.err != nil && !errors.Is(got.err, engine.ErrInterrupted) {
				t.Fatalf("error %v", got.err)
			}
			// Checked while the terminal is still open: a goroutine blocked
			// reading it would otherwise go unnoticed.
			if err := goleak.Find(before); err != nil {
				t.Error(err)
			}
		})
	}
}

// answerCursorQueries copies the terminal's output to out and, like a
// terminal emulator, answers the line editor's cursor position queries,
// until reading the terminal fails.
func answerCursorQueries(out io.Writer, ptmx io.ReadWriter) {
	b := make([]byte, 1024)
	for {
		n, err := ptmx.Read(b)
		for range bytes.Count(b[:n], []byte("\x1b[6n")) {
			io.WriteString(ptmx, "\x1b[1;1R")
		}
		out.Write(b[:n])
		if err != nil {
			return
		}
	}
}
