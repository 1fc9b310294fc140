package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/flowrun/flowrun/registry"
)

// chatDefaultSystem is chat.history's default system prompt.
const chatDefaultSystem = "You are a helpful assistant. Answer briefly and clearly."

func chatHistorySpec() registry.Spec {
	return registry.Spec{
		Type: "chat.history",
		Doc: "Keeps a conversation and outputs it as chat messages.\n\n" +
			"Each run records the previous answer (when it is not null or empty) as the assistant's message, then the " +
			"prompt as the user's, and outputs the system message followed by the conversation. A failed or missing " +
			"answer arrives as null and is not recorded, nor is an answer whose finish_reason is \"length\" (cut by " +
			"the server's token limit). With max_turns N > 0 only the last N exchanges (a user " +
			"message and the answer to it) are kept before the new prompt; the system message is always kept.",
		Stateful:   true,
		SavesState: true,
		Inputs: []registry.Input{
			{Name: "prompt", Type: registry.String, Doc: "The user's new message."},
			{Name: "answer", Type: registry.String, HasDefault: true, Default: nil,
				Doc: "The answer to the previous prompt; null (the default, which starts a chat cycle) or empty records nothing."},
			{Name: "finish_reason", Type: registry.String, HasDefault: true, Default: nil,
				Doc: "Why the previous answer ended (connect llm.chat's finish_reason); an answer cut at max_tokens (\"length\") is not recorded."},
			{Name: "system", Type: registry.String, Const: true, HasDefault: true, Default: chatDefaultSystem,
				Doc: "The system prompt sent first; empty sends none."},
			{Name: "max_turns", Type: registry.Integer, Const: true, HasDefault: true, Default: 0,
				Doc: "How many past exchanges to keep before the new prompt; 0 keeps them all."},
		},
		Outputs: []registry.Output{
			{Name: "messages", Type: registry.Array, Doc: "The system message and the conversation, a list of {role, content} objects ending with the new prompt."},
		},
		Example: "history:\n  type: chat.history\n  inputs: {prompt: chat.prompt, answer: reply.out, finish_reason: reply.finish_reason}\n  with: {system: You are a pirate., max_turns: 10}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			system, maxTurns, err := parseHistoryParams(cfg)
			if err != nil {
				return nil, err
			}
			return &chatHistoryNode{system: system, maxTurns: maxTurns}, nil
		},
	}
}

func parseHistoryParams(cfg registry.Config) (system string, maxTurns int, err error) {
	if system, err = chatStringParam(cfg, "system", chatDefaultSystem); err != nil {
		return "", 0, err
	}
	maxTurns, err = cfg.Params.Int("max_turns")
	if err == nil && (maxTurns < 0 || maxTurns > math.MaxInt32) {
		err = &registry.ParamError{Param: "max_turns", Err: fmt.Errorf("want a whole number, 0 or more, got %v", maxTurns)}
	}
	return system, maxTurns, err
}

// chatTurn is one recorded message.
type chatTurn struct{ role, content string }

// chatHistoryNode is one chat.history node; the conversation is its state.
type chatHistoryNode struct {
	system   string
	maxTurns int
	turns    []chatTurn
}

var _ registry.StateMarshaler = (*chatHistoryNode)(nil)

// savedTurn is a chatTurn in a chat.history's saved state.
type savedTurn struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// MarshalState implements registry.StateMarshaler: the state is the
// conversation (the parameters come from the flow file again).
func (n *chatHistoryNode) MarshalState() ([]byte, error) {
	turns := make([]savedTurn, len(n.turns))
	for i, t := range n.turns {
		turns[i] = savedTurn{t.role, t.content}
	}
	return json.Marshal(turns)
}

// UnmarshalState implements registry.StateMarshaler.
func (n *chatHistoryNode) UnmarshalState(data []byte) error {
	var turns []savedTurn
	if err := json.Unmarshal(data, &turns); err != nil {
		return fmt.Errorf("not a chat.history's saved state: %w", err)
	}
	n.turns = make([]chatTurn, len(turns))
	for i, t := range turns {
		n.turns[i] = chatTurn{t.Role, t.Content}
	}
	return nil
}

// Run records the answer and the prompt and outputs the messages. It does
// not block.
func (n *chatHistoryNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	prompt, ok := in.Value("prompt").(string)
	if !ok {
		return fmt.Errorf("input \"prompt\": want a string, got %s", chatDescribe(in.Value("prompt")))
	}
	switch a := in.Value("answer").(type) {
	case nil:
	case string:
		if a != "" && in.Value("finish_reason") != "length" {
			n.turns = append(n.turns, chatTurn{"assistant", a})
		}
	default:
		return fmt.Errorf("input \"answer\": want a string or null, got %s", chatDescribe(a))
	}
	n.trim()
	n.turns = append(n.turns, chatTurn{"user", prompt})

	// A fresh list of fresh objects every run: what was output before is
	// shared with consumers and never changes.
	msgs := make([]any, 0, len(n.turns)+1)
	if n.system != "" {
		msgs = append(msgs, map[string]any{"role": "system", "content": n.system})
	}
	for _, t := range n.turns {
		msgs = append(msgs, map[string]any{"role": t.role, "content": t.content})
	}
	out.Set("messages", msgs)
	return nil
}

// trim drops the oldest exchanges so that at most maxTurns user messages
// remain (the new prompt is added after trimming).
func (n *chatHistoryNode) trim() {
	if n.maxTurns <= 0 {
		return
	}
	users := 0
	for i := len(n.turns) - 1; i >= 0; i-- {
		if n.turns[i].role != "user" {
			continue
		}
		users++
		if users == n.maxTurns {
			if i > 0 {
				n.turns = append([]chatTurn(nil), n.turns[i:]...)
			}
			return
		}
	}
}
