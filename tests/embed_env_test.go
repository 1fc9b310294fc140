//go:build unix

package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

func builtins(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestEmbedDefaultEnvironment embeds flowrun setting nothing at all
// (graph.Options{} and engine.Options{}): the nodes get the process's
// environment, so exec finds echo in PATH.
func TestEmbedDefaultEnvironment(t *testing.T) {
	const src = "version: 1\nnodes:\n  say:\n    type: exec\n    with: {command: [echo, hi], stdin: none}\n"
	flow, err := graph.Load("say.yaml", []byte(src), builtins(t), graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), flow, engine.Options{KeepFinals: true})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := res.Final["say"]["out"]; got != "hi\n" {
		t.Errorf("say.out = %q, want %q", got, "hi\n")
	}
}

// TestGetenvOnePlace sets the environment once, in graph.Options.Getenv:
// the loader's ${GREETING:-unset} and the node's environment (PATH to find sh,
// WHO passed to the program) both read it, and not the process's.
func TestGetenvOnePlace(t *testing.T) {
	t.Setenv("GREETING", "from-the-process")
	t.Setenv("WHO", "from-the-process")
	vars := map[string]string{"PATH": "/usr/bin:/bin", "GREETING": "hola", "WHO": "mundo"}
	const src = `version: 1
nodes:
  say:
    type: exec
    with:
      command: [sh, -c, 'printf "%s %s" "$1" "$WHO"', sh]
      args: ["${GREETING:-unset}"]
      pass_env: [WHO]
      stdin: none
`
	getenv := func(k string) string { return vars[k] }
	flow, err := graph.Load("say.yaml", []byte(src), builtins(t), graph.Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), flow, engine.Options{KeepFinals: true})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := res.Final["say"]["out"]; got != "hola mundo" {
		t.Errorf("say.out = %q, want %q", got, "hola mundo")
	}

	// With an empty environment set in the same place, the node finds no
	// program: nothing comes from the process behind its back.
	flow, err = graph.Load("say.yaml", []byte(src), builtins(t), graph.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Run(context.Background(), flow, engine.Options{KeepFinals: true})
	if err == nil || !strings.Contains(err.Error(), `program "sh" not found in PATH`) {
		t.Errorf("run with an empty environment: err = %v, want sh not found in PATH", err)
	}

	// A second place is refused rather than silently ignored.
	_, err = engine.Run(context.Background(), flow, engine.Options{Env: registry.Env{Getenv: getenv}})
	if err == nil || !strings.Contains(err.Error(), "set graph.Options.Getenv instead") {
		t.Errorf("Env.Getenv set: err = %v, want it refused", err)
	}
}
