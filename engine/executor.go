package engine

import (
	"context"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// An Executor carries out node runs for the engine: the engine decides
// which node runs with which inputs (generations, staleness, cycles,
// streams), and the executor performs the run. The local executor calls
// the node's instance in the engine's goroutine; a distributed one (the
// cluster package) may ship the run to a worker process and report its
// outputs back through NodeRun.Out.
//
// Execute is called concurrently, once per run, and must return only
// when the run is over: its outputs set or emitted through Out, its
// streams read through In. Its error is the run's, classified like the
// error of [registry.Node].Run (ErrStop, ErrDone, cancellation, failure).
type Executor interface {
	Execute(ctx context.Context, run NodeRun) error
}

// A NodeRun is one run of one node, handed to an [Executor].
type NodeRun struct {
	// Node is the node as loaded (id, type, spec, parameters).
	Node *graph.Node
	// Impl is the node's instance in this process, created by the
	// engine with its type's constructor.
	Impl registry.Node
	// Generation is the number of runs the node completed before this
	// one: (flow run, Node.ID, Generation) names the run uniquely.
	Generation int
	// In and Out are the run's inputs and outputs.
	In  registry.Inputs
	Out registry.Outputs

	ru *run // nil when built outside the engine
}

// RanOn records which worker ran the run: the end record of the run in
// the event log carries it as "worker". An executor that ships runs to
// other processes calls it with the worker named in the run's result;
// runs in this process have no worker.
func (nr NodeRun) RanOn(worker string) {
	if nr.ru != nil {
		nr.ru.worker = worker
	}
}

// LocalExecutor runs every node in the calling goroutine, the engine's
// default.
type LocalExecutor struct{}

// Execute implements Executor.
func (LocalExecutor) Execute(ctx context.Context, run NodeRun) error {
	return run.Impl.Run(ctx, run.In, run.Out)
}
