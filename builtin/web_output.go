package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/internal/webchat"
	"github.com/flowrun/flowrun/registry"
)

func webOutputSpec() registry.Spec {
	return registry.Spec{
		Type:    "web.output",
		Effects: []registry.Effect{registry.Net},
		Doc: "Shows each answer on the chat page in a browser as it streams.\n\n" +
			"Each run is the answer to the next prompt of the page, in order. The chunks of answer are sent to the " +
			"page as they arrive; a failed answer (its producer under on_error: continue) shows its error inline, and " +
			"one cut by the page's Stop button (or Ctrl-C) is kept marked \" [interrupted]\". The Stop button cuts the " +
			"answer in flight as Ctrl-C does in the terminal: llm.chat's run ends and its partial answer, marked, " +
			"goes on into the conversation. When the answer's stream is lost mid-answer and starts over (its producer's " +
			"worker died and its rerun streams again), the page keeps the partial answer dimmed, marked \"" + restartMark +
			"\", and shows the new answer under it; the answer is counted once. Connected, reasoning is shown apart (collapsed) and usage small under " +
			"the answer. Sending never waits for a page: each page may fall " +
			"1024 events behind before it is disconnected, and it then reconnects and catches up from the history.\n\n" +
			webDoc,
		Stateful:    true,
		Restartable: true,
		Inputs: append([]registry.Input{
			{Name: "answer", Type: registry.String, Stream: true, Doc: "The answer, read as a stream (connect llm.chat's out)."},
			{Name: "reasoning", Type: registry.String, Stream: true, HasDefault: true, Default: nil,
				Doc: "The reasoning of a reasoning model, read beside the answer (connect llm.chat's reasoning); shown collapsed."},
			{Name: "usage", Type: registry.Object, Stream: true, HasDefault: true, Default: nil,
				Doc: "Token usage, read after the answer (connect llm.chat's usage); shown small under it."},
		}, webParams()...),
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The answer shown, marked \" [interrupted]\" when cut; kept only when something reads it."}},
		Check:   webCheck,
		Example: "show:\n  type: web.output\n  inputs: {answer: reply.out, usage: reply.usage}\n  on_error: continue\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			h, err := webHub(cfg, env)
			if err != nil {
				return nil, err
			}
			return &webOutputNode{hub: h, limit: env.MaxValueBytes()}, nil
		},
	}
}

// webOutputNode sends answers to the page.
type webOutputNode struct {
	hub   *webchat.Hub
	limit int64
	// restarted is the turn whose answer's stream started over
	// (registry.ErrRestarted), or 0: the next run, which the engine runs
	// on the new stream, continues that turn instead of beginning one.
	restarted int
}

var (
	_ registry.Node   = (*webOutputNode)(nil)
	_ registry.Closer = (*webOutputNode)(nil)
)

func (n *webOutputNode) Close(ctx context.Context) error { return n.hub.Release(ctx) }

// Run sends one answer. The answer and its reasoning are read at once,
// so that neither holds up the producer; then the usage.
func (n *webOutputNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	if err := n.hub.Start(); err != nil {
		return err
	}
	answer, reasoning := in.Stream("answer"), in.Stream("reasoning")
	defer endRun(ctx, &err, answer, reasoning)
	turn := n.restarted
	if turn == 0 {
		turn = n.hub.BeginAnswer()
	}
	n.restarted = 0
	keep := registry.Needed(out, "out")
	var shown strings.Builder

	readCtx, stopReading := context.WithCancel(ctx)
	reasoned := make(chan struct{})
	go func() {
		defer close(reasoned)
		for {
			c, ok, err := reasoning.Next(readCtx)
			if !ok || err != nil {
				return
			}
			n.hub.Publish(webchat.Event{Type: "reasoning", Turn: turn, Text: text(c)})
		}
	}()
	end := webchat.Event{Type: "end", Turn: turn}
	var cause error
	for {
		c, ok, err := answer.Next(ctx)
		if errors.Is(err, registry.ErrRestarted) || (err != nil && restarting(ctx)) {
			stopReading()
			<-reasoned
			return n.restart(turn, err)
		}
		if errors.Is(err, registry.ErrInterrupted) && ctx.Err() == nil {
			end.Interrupted = true
			break
		}
		if err != nil && ctx.Err() == nil {
			cause = err // the producer failed (on_error: continue)
			break
		}
		if err != nil {
			stopReading()
			<-reasoned
			n.hub.Publish(webchat.Event{Type: "end", Turn: turn, Interrupted: true})
			return err
		}
		if !ok {
			break
		}
		piece := text(c)
		n.hub.Publish(webchat.Event{Type: "chunk", Turn: turn, Text: piece})
		if keep {
			if int64(shown.Len()+len(piece)) > n.limit {
				answer.Cancel()
				stopReading()
				<-reasoned
				n.hub.Publish(end)
				return &registry.ValueTooLargeError{Output: "out", Limit: n.limit}
			}
			shown.WriteString(piece)
		}
	}
	if end.Interrupted || cause != nil {
		stopReading() // the producer's run is over: so is its reasoning
	}
	<-reasoned
	stopReading()
	if restarting(ctx) {
		return n.restart(turn, context.Cause(ctx))
	}
	if cause != nil {
		n.hub.Publish(webchat.Event{Type: "error", Turn: turn, Text: oneLine(cause.Error())})
	}
	if !end.Interrupted && cause == nil {
		u := lastObject(ctx, in.Stream("usage"))
		if restarting(ctx) {
			return n.restart(turn, context.Cause(ctx))
		}
		if u != nil {
			n.hub.Publish(webchat.Event{Type: "usage", Turn: turn, Usage: u})
		}
	}
	n.hub.Publish(end)
	if keep {
		s := shown.String()
		if end.Interrupted {
			s += " [interrupted]"
		}
		out.Set("out", s)
	}
	return nil
}

// restarting reports whether the run was cancelled because its answer's
// stream starts over.
func restarting(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), registry.ErrRestarted)
}

// restart ends a run whose answer's stream started over
// (registry.ErrRestarted), before the answer's end was sent: the engine
// runs the node again on the new stream. The page marks what it showed
// as lost, and the next run continues the turn, so the answer is counted
// once. Nothing else changed yet: out is set only at the end of a run.
func (n *webOutputNode) restart(turn int, err error) error {
	n.hub.RestartAnswer(turn)
	n.restarted = turn
	if !errors.Is(err, registry.ErrRestarted) {
		err = fmt.Errorf("%w: %w", registry.ErrRestarted, err)
	}
	return err
}

// lastObject returns the last object chunk of s, reading s to its end.
func lastObject(ctx context.Context, s registry.Stream) map[string]any {
	var last map[string]any
	for {
		c, ok, _ := s.Next(ctx)
		if !ok {
			return last
		}
		if m, isMap := c.(map[string]any); isMap {
			last = m
		}
	}
}
