package flowcli

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
)

// The exit codes of flowrun. They are a small fixed set, documented in the
// README and in "flowrun --help".
const (
	// ExitOK: the command succeeded; a run ended normally, was stopped by a
	// node or reached a generation limit.
	ExitOK = 0
	// ExitFailure: a node failed, or an I/O error (unreadable file, no
	// file matched, unwritable event log).
	ExitFailure = 1
	// ExitUsage: bad arguments, an unknown command or node type, or an
	// invalid flow file; nothing ran.
	ExitUsage = 2
	// ExitInterrupted: the run was stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// ExitCode maps the error a command returned to flowrun's exit code: nil is
// [ExitOK]; an interrupted run is [ExitInterrupted], even when a node then
// failed to close; a node error ([engine.NodeError]) is [ExitFailure], even
// when its cause is a context error; an interruption (wrapping
// [engine.ErrInterrupted] or [context.Canceled]) is [ExitInterrupted]; a
// usage error or an invalid flow ([graph.ErrorList]) is [ExitUsage];
// everything else, node errors and I/O errors included, is [ExitFailure].
func ExitCode(err error) int {
	var (
		reported    *reportedError
		interrupted *interruptedError
		usage       *usageError
		invalid     graph.ErrorList
		nodeErr     *engine.NodeError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &reported):
		return reported.code
	case errors.As(err, &interrupted):
		return ExitInterrupted
	case errors.As(err, &nodeErr):
		return ExitFailure
	case errors.Is(err, engine.ErrInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &usage), errors.As(err, &invalid):
		return ExitUsage
	}
	return ExitFailure
}

// A usageError is a mistake on the command line. Main prints it with a
// hint: hint, or else a pointer to the command's help.
type usageError struct {
	cmd  string // "flowrun run"
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error of the command cmd ("flowrun run").
func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// A reportedError ends a command whose problems were already written (the
// diagnostics of an invalid flow, the findings of validate): Main prints
// nothing more and exits with code.
type reportedError struct {
	code int
	err  error
}

func (e *reportedError) Error() string { return e.err.Error() }

func (e *reportedError) Unwrap() error { return e.err }

// An interruptedError ends a run that was interrupted (SIGTERM, or SIGINT
// where it stops the flow). errs are what else went wrong as the flow shut
// down, such as a node that failed to close: they are reported, but the
// interruption decides the exit code ([ExitInterrupted]).
type interruptedError struct {
	errs []error
}

// newInterruptedError returns the error of an interrupted run whose
// engine error was err (nil, [engine.ErrInterrupted], or that joined
// with close errors).
func newInterruptedError(err error) *interruptedError {
	parts := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		parts = joined.Unwrap()
	}
	e := &interruptedError{}
	for _, p := range parts {
		if p != nil && p != engine.ErrInterrupted {
			e.errs = append(e.errs, p)
		}
	}
	return e
}

func (e *interruptedError) Error() string {
	if len(e.errs) == 0 {
		return engine.ErrInterrupted.Error()
	}
	return engine.ErrInterrupted.Error() + "; " + errors.Join(e.errs...).Error()
}

// Unwrap returns what else went wrong, then [engine.ErrInterrupted]: Main
// reports them in that order, the interruption last.
func (e *interruptedError) Unwrap() []error {
	return append(append([]error(nil), e.errs...), engine.ErrInterrupted)
}
