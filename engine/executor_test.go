package engine

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
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
