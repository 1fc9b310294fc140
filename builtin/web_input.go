package builtin

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/internal/webchat"

	"github.com/flowrun/flowrun/registry"
)

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
