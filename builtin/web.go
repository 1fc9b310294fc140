package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/flowrun/flowrun/internal/webchat"
	"github.com/flowrun/flowrun/registry"
)

// webDefaultAddr is where web.input and web.output listen by default.
const webDefaultAddr = "127.0.0.1:8765"

// webParams are the inputs both web types declare.
func webParams() []registry.Input {
	return []registry.Input{
		{Name: "listen", Type: registry.String, Const: true, HasDefault: true, Default: webDefaultAddr,
			Doc: "The address the page is served on, host:port. The web.input and web.output nodes of a flow that name the same address share one server and one page; a port of 0 picks a free one."},
		{Name: "token_env", Type: registry.String, Const: true, HasDefault: true, Default: webchat.TokenEnv,
			Doc: "The environment variable holding the token that every request must carry; required (not empty) when listen is not a loopback address."},
	}
}

// webDoc is the part of the web types' documentation they share.
const webDoc = "The web.input and web.output nodes of a flow whose listen parameters name the same address share one HTTP " +
	"server and one conversation (one object per run of the flow, released when the flow ends); the first node to " +
	"run starts listening and writes the page's address on stderr. The page (served from the binary, no outside " +
	"network) streams the conversation with Server-Sent Events; a reloaded page or a second tab shows the whole " +
	"conversation and continues live. Requests are refused unless their Host names the loopback address listened " +
	"on (DNS rebinding) and their Origin, when sent, is the page's own (cross-site requests); listening on any " +
	"other address than loopback requires a token ($FLOWRUN_WEB_TOKEN, see token_env), given once as ?token= on " +
	"the page's address. See docs/web.md."

// webHub returns the hub of the node's listen address, shared with the
// other web nodes of the flow through env.Shared, and counts the node as
// one of its users (release it in Close).
func webHub(cfg registry.Config, env registry.Env) (*webchat.Hub, error) {
	addr, err := cfg.Params.String("listen")
	if err != nil {
		return nil, err
	}
	tokenEnv, err := cfg.Params.String("token_env")
	if err != nil {
		return nil, err
	}
	token := ""
	if env.Getenv != nil && tokenEnv != "" {
		token = env.Getenv(tokenEnv)
	}
	newHub := func() (*webchat.Hub, error) {
		notice := env.Stderr
		if notice == nil {
			notice = io.Discard
		}
		return webchat.New(webchat.Config{Addr: addr, Token: token, Interrupt: env.Interrupt, Notice: notice})
	}
	if env.Shared == nil { // outside the engine (checking parameters): not shared
		h, err := newHub()
		if err != nil {
			return nil, &registry.ParamError{Param: "listen", Err: err}
		}
		h.Acquire()
		return h, nil
	}
	type entry struct {
		hub      *webchat.Hub
		err      error
		tokenEnv string
	}
	e := env.Shared.Get("webchat:"+addr, func() any {
		h, err := newHub()
		return &entry{hub: h, err: err, tokenEnv: tokenEnv}
	}).(*entry)
	switch {
	case e.err != nil:
		return nil, &registry.ParamError{Param: "listen", Err: e.err}
	case e.tokenEnv != tokenEnv:
		return nil, &registry.ParamError{Param: "token_env", Err: fmt.Errorf("%q differs from the %q of another web node listening on %s: the nodes of one address share one server, give them the same token_env", tokenEnv, e.tokenEnv, addr)}
	}
	e.hub.Acquire()
	return e.hub, nil
}

// webCheck checks the parameters at load time; the token, read from the
// environment, is checked when the node is created for a run.
func webCheck(cfg registry.Config) error {
	addr, err := cfg.Params.String("listen")
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return &registry.ParamError{Param: "listen", Err: fmt.Errorf("%q: %w (write host:port, such as %s)", addr, err, webDefaultAddr)}
	}
	_, err = cfg.Params.String("token_env")
	return err
}

func webInputSpec() registry.Spec {
	return registry.Spec{
		Type:    "web.input",
		Effects: []registry.Effect{registry.Net},
		Doc: "Emits each prompt submitted from the chat page in a browser.\n\n" +
			"A live source, like term.input: it takes the next prompt as soon as its consumers took the previous " +
			"one, so a prompt submitted while an answer streams is accepted at once and answered in order. Prompts " +
			"are trimmed; empty ones are refused by the page. The flow goes on until it is stopped (Ctrl-C in the " +
			"terminal that runs it).\n\n" + webDoc,
		Stateful: true,
		Live:     true,
		Inputs:   webParams(),
		Outputs:  []registry.Output{{Name: "out", Type: registry.String, Doc: "The prompt submitted."}},
		Check:    webCheck,
		Example:  "ask:\n  type: web.input\n  with: {listen: \"127.0.0.1:8765\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			h, err := webHub(cfg, env)
			if err != nil {
				return nil, err
			}
			return &webInputNode{hub: h}, nil
		},
	}
}

// webInputNode takes the page's prompts.
type webInputNode struct{ hub *webchat.Hub }

var (
	_ registry.Node   = (*webInputNode)(nil)
	_ registry.Closer = (*webInputNode)(nil)
)

func (n *webInputNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if err := n.hub.Start(); err != nil {
		return err
	}
	p, err := n.hub.NextPrompt(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", registry.ErrCancelled, err)
		}
		return err
	}
	out.Set("out", p)
	return nil
}

func (n *webInputNode) Close(ctx context.Context) error { return n.hub.Release(ctx) }

func webOutputSpec() registry.Spec {
	return registry.Spec{
		Type:    "web.output",
		Effects: []registry.Effect{registry.Net},
		Doc: "Shows each answer on the chat page in a browser as it streams.\n\n" +
			"Each run is the answer to the next prompt of the page, in order. The chunks of answer are sent to the " +
			"page as they arrive; a failed answer (its producer under on_error: continue) shows its error inline, and " +
			"one cut by the page's Stop button (or Ctrl-C) is kept marked \" [interrupted]\". The Stop button cuts the " +
			"answer in flight as Ctrl-C does in the terminal: llm.chat's run ends and its partial answer, marked, " +
			"goes on into the conversation. Connected, reasoning is shown apart (collapsed) and usage small under " +
			"the answer. Sending never waits for a page: each page may fall " +
			"1024 events behind before it is disconnected, and it then reconnects and catches up from the history.\n\n" +
			webDoc,
		Stateful: true,
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
	turn := n.hub.BeginAnswer()
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
	if cause != nil {
		n.hub.Publish(webchat.Event{Type: "error", Turn: turn, Text: oneLine(cause.Error())})
	}
	if !end.Interrupted && cause == nil {
		if u := lastObject(ctx, in.Stream("usage")); u != nil {
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
