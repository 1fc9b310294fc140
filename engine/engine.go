package engine

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// Options configure a run.
type Options struct {
	// Env is handed to every node's constructor.
	Env registry.Env
	// MaxGenerations limits every node's runs (0: no limit); NodeLimits
	// limits single nodes and wins over MaxGenerations and the file.
	MaxGenerations int
	NodeLimits     map[string]int
	// Events, when not nil, receives one JSON object per line for every
	// run start, run end and chunk.
	Events io.Writer
	// Logger receives the run's diagnostics; nil discards them.
	Logger *slog.Logger
	// StallTimeout, when positive, makes the engine log who waits for what
	// when nothing progressed for that long while runs are blocked.
	StallTimeout time.Duration
}

// A Result describes how a run ended.
type Result struct {
	// Reason is why the flow ended: "done" (nothing left to run),
	// "stopped" (a node ended the flow), "limit" (a generation limit),
	// "interrupted" or "failed".
	Reason string
	// LimitNodes lists the nodes that reached their generation limit.
	LimitNodes []string
	// Final holds each node's last final value per output, for nodes that
	// completed at least one run.
	Final map[string]map[string]any
	// Generations is the number of completed runs of each node.
	Generations map[string]int
}

// Run executes flow until it ends and reports how. A node error is
// returned as a *NodeError.
func Run(ctx context.Context, flow *graph.Flow, opts Options) (*Result, error) {
	panic("not yet implemented")
}
