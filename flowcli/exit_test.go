package flowcli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	invalid := graph.ErrorList{{Pos: graph.Pos{File: "f.yaml", Line: 1, Col: 1}, Msg: "bad"}}
	nodeErr := &engine.NodeError{Node: "a", Type: "math.div", Err: errors.New("division by zero")}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"node error", nodeErr, ExitFailure},
		{"wrapped node error", fmt.Errorf("run: %w", nodeErr), ExitFailure},
		{"node error caused by a context error", &engine.NodeError{Node: "a", Err: context.Canceled}, ExitFailure},
		{"io error", &fs.PathError{Op: "open", Path: "x.yaml", Err: fs.ErrNotExist}, ExitFailure},
		{"other error", errors.New("boom"), ExitFailure},
		{"usage error", usagef("flowrun run", "bad flag"), ExitUsage},
		{"invalid flow", invalid, ExitUsage},
		{"wrapped invalid flow", fmt.Errorf("load: %w", invalid), ExitUsage},
		{"interrupted", engine.ErrInterrupted, ExitInterrupted},
		{"wrapped interrupted", fmt.Errorf("run: %w", engine.ErrInterrupted), ExitInterrupted},
		{"context canceled", context.Canceled, ExitInterrupted},
		{"interrupted run", newInterruptedError(nil), ExitInterrupted},
		{"interrupted run whose node failed to close", newInterruptedError(errors.Join(engine.ErrInterrupted, &engine.NodeError{Node: "a", Closing: true, Err: errors.New("flush")})), ExitInterrupted},
		{"reported invalid", &reportedError{code: ExitUsage, err: invalid}, ExitUsage},
		{"reported io error", &reportedError{code: ExitFailure, err: invalid}, ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
