package builtin

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestTermInput(t *testing.T) {
	var stdout strings.Builder
	env := registry.Env{Stdin: strings.NewReader("hello\r\nworld\nlast"), Stdout: &stdout, Interactive: true}
	n := nodetest.New(t, lookup(t, "term.input"), nodetest.Setup{Env: env, Params: map[string]any{"prompt": "you> "}})
	for _, want := range []string{"hello", "world", "last"} {
		checkResult(t, n.Run(t, nodetest.In{}), want, "")
	}
	res := n.Run(t, nodetest.In{})
	if !errors.Is(res.Err, registry.ErrDone) {
		t.Errorf("at end of input: err = %v, want ErrDone", res.Err)
	}
	if got := stdout.String(); got != "you> you> you> you> " {
		t.Errorf("stdout = %q, want four prompts", got)
	}
}

func TestTermInputErrors(t *testing.T) {
	n := nodetest.New(t, lookup(t, "term.input"), nodetest.Setup{})
	if res := n.Run(t, nodetest.In{}); !errors.Is(res.Err, registry.ErrDone) {
		t.Errorf("no stdin: err = %v, want ErrDone", res.Err)
	}
	boom := errors.New("device gone")
	n = nodetest.New(t, lookup(t, "term.input"), nodetest.Setup{Env: registry.Env{Stdin: iotest.ErrReader(boom)}})
	if res := n.Run(t, nodetest.In{}); !errors.Is(res.Err, boom) || errors.Is(res.Err, registry.ErrDone) {
		t.Errorf("read error: err = %v, want the read error", res.Err)
	}
	wantParamError(t, buildErr(t, "term.input", nodetest.Setup{Params: map[string]any{"prompt": 1}}), "prompt", "want a string")
}

// TestTermInputPipe checks that outside a terminal no prompt is written:
// stdout is the flow's output alone.
func TestTermInputPipe(t *testing.T) {
	var stdout strings.Builder
	env := registry.Env{Stdin: strings.NewReader("hello\n"), Stdout: &stdout}
	n := nodetest.New(t, lookup(t, "term.input"), nodetest.Setup{Env: env, Params: map[string]any{"prompt": "you> "}})
	checkResult(t, n.Run(t, nodetest.In{}), "hello", "")
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want no prompt in a pipe", stdout.String())
	}
}
