package engine

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/registry"
)

// recordingExecutor delegates to LocalExecutor and records every run it
// is handed, so a test can check the engine goes through Options.Executor.
type recordingExecutor struct {
	mu   sync.Mutex
	runs []string
}

func (e *recordingExecutor) Execute(ctx context.Context, nr NodeRun) error {
	e.mu.Lock()
	e.runs = append(e.runs, fmt.Sprintf("%s@%d", nr.Node.ID, nr.Generation))
	e.mu.Unlock()
	return LocalExecutor{}.Execute(ctx, nr)
}

func TestExecutorSeesEveryRunOnceWithSameResult(t *testing.T) {
	flow := func() *builder {
		return newBuilder(t, testRegistry(nil)).
			node("a", "plusone", "x<-b").
			node("b", "plusone", "x=a").
			withDefault("a", "x", 0)
	}
	local, err := flow().run(t.Context(), Options{MaxGenerations: 3})
	if err != nil {
		t.Fatal(err)
	}
	ex := &recordingExecutor{}
	viaExec, err := flow().run(t.Context(), Options{MaxGenerations: 3, Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(local.Final, viaExec.Final) || !reflect.DeepEqual(local.Generations, viaExec.Generations) {
		t.Errorf("through the executor: final %v generations %v; locally: final %v generations %v",
			viaExec.Final, viaExec.Generations, local.Final, local.Generations)
	}
	want := []string{"a@0", "b@0", "a@1", "b@1", "a@2", "b@2"}
	if !reflect.DeepEqual(ex.runs, want) {
		t.Errorf("executor saw runs %v, want %v", ex.runs, want)
	}
}

// keyExecutor records the idempotency key of every run it is handed.
type keyExecutor struct {
	mu   sync.Mutex
	keys []string
}

func (e *keyExecutor) Execute(ctx context.Context, nr NodeRun) error {
	e.mu.Lock()
	e.keys = append(e.keys, registry.IdempotencyKey(nr.In))
	e.mu.Unlock()
	return LocalExecutor{}.Execute(ctx, nr)
}

func TestRunsHaveIdempotencyKeys(t *testing.T) {
	flow := func() *builder {
		return newBuilder(t, testRegistry(nil)).
			node("a", "plusone", "x<-b").
			node("b", "plusone", "x=a").
			withDefault("a", "x", 0)
	}
	ex := &keyExecutor{}
	if _, err := flow().run(t.Context(), Options{MaxGenerations: 2, Executor: ex, RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"r1/a/0", "r1/b/0", "r1/a/1", "r1/b/1"}
	if !reflect.DeepEqual(ex.keys, want) {
		t.Errorf("keys %v, want %v", ex.keys, want)
	}

	// Without a RunID, each run of the flow gets its own.
	var prefixes []string
	for range 2 {
		ex := &keyExecutor{}
		if _, err := flow().run(t.Context(), Options{MaxGenerations: 1, Executor: ex}); err != nil {
			t.Fatal(err)
		}
		id, rest, _ := strings.Cut(ex.keys[0], "/")
		if id == "" || rest != "a/0" || ex.keys[1] != id+"/b/0" {
			t.Fatalf("keys %v: want <run id>/a/0, <run id>/b/0", ex.keys)
		}
		prefixes = append(prefixes, id)
	}
	if prefixes[0] == prefixes[1] {
		t.Errorf("two runs of the flow have the same run id %q", prefixes[0])
	}
}
