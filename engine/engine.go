package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// streamBuffer is how many chunks a stream connection holds while its
// consumer is reading before the producer blocks (backpressure). Large
// enough to let producer and consumer run in batches on different cores,
// small enough to keep a long stream's memory flat.
const streamBuffer = 128

// Options configure a run.
type Options struct {
	// Env is handed to every node's constructor. Leave Env.Getenv nil:
	// the nodes read the environment the flow was loaded with,
	// graph.Flow.Getenv (set by graph.Options.Getenv, by default the
	// process's environment), so that ${VAR} in the file and the nodes
	// see the same variables; Run reports an error when it is set.
	Env registry.Env
	// MaxGenerations limits every node's runs (0: no limit). A node's
	// max_generations in the flow file wins over it, and NodeLimits wins
	// over both.
	MaxGenerations int
	NodeLimits     map[string]int
	// Events, when not nil, receives one JSON object per line for every
	// run start, run end and chunk.
	Events io.Writer
	// Logger receives the run's diagnostics; nil discards them.
	Logger *slog.Logger
	// StallTimeout, when positive, makes the engine log who waits for what
	// when nothing progressed for that long while runs are in flight.
	StallTimeout time.Duration
	// CloseTimeout bounds how long each node's Close ([registry.Closer])
	// may take when the flow ends; 0 means [DefaultCloseTimeout].
	CloseTimeout time.Duration
	// KeepFinals makes Result.Final hold every output's final value. By
	// default the engine accumulates a streamed output's chunks into its
	// final value only when something needs it (a value input connected
	// to it, or the event log), so that a stream read chunk by chunk keeps
	// flat memory however long it runs; Result.Final then leaves out the
	// streamed outputs nothing needed.
	KeepFinals bool
	// MaxValueBytes bounds every whole value built from a stream, in
	// bytes (registry.SizeOf): an output's accumulation, and the values
	// nodes build (it is handed to them as Env.ValueLimit). Past it, the
	// run fails with a registry.ValueTooLargeError. 0 means
	// registry.DefaultMaxValueBytes (256 MiB), a negative number no limit.
	MaxValueBytes int64
	// Executor performs the node runs; nil runs them in this process
	// ([LocalExecutor]).
	Executor Executor
	// NoNodeResults leaves Result.Final and Result.Generations, which
	// hold an entry for every node, nil: a caller that reads neither
	// (flowrun run without --print-final) then does not have a large flow
	// allocate a map per node when it ends. It cannot be combined with
	// KeepFinals.
	NoNodeResults bool
	// RunID names this run of the flow: in the log ("run_id") and in the
	// runs' idempotency keys (registry.IdempotencyKey). Empty means a new
	// random id.
	RunID string
}

// How a flow ended (Result.Reason).
const (
	ReasonDone        = "done"
	ReasonStopped     = "stopped"
	ReasonLimit       = "limit"
	ReasonInterrupted = "interrupted"
	ReasonFailed      = "failed"
)

// A Result describes how a run ended.
type Result struct {
	// Reason is why the flow ended: ReasonDone (nothing left to run),
	// ReasonStopped (a node ended the flow), ReasonLimit (nothing left to
	// run and some node reached its generation limit), ReasonInterrupted
	// or ReasonFailed.
	Reason string
	// StoppedBy names the node that ended the flow (ReasonStopped) or
	// failed (ReasonFailed); it is empty when the user ended an
	// interactive flow at a prompt ([InterruptEnded]).
	StoppedBy string
	// StopReason is why the node named by StoppedBy ended the flow, when
	// it said so with a registry.StopError (control.stop's reason).
	StopReason string
	// LimitNodes lists, in file order, the nodes that reached their
	// generation limit.
	LimitNodes []string
	// Final holds each node's last final value per output, for the nodes
	// that completed at least one run. Without Options.KeepFinals, a
	// streamed output that nothing needed as a whole value is left out.
	// It is nil with Options.NoNodeResults.
	Final map[string]map[string]any
	// Generations is the number of completed runs of each node (nil with
	// Options.NoNodeResults).
	Generations map[string]int
}

// A Runner runs one flow once. Create it with [New], call [Runner.Run]
// once, and use [Runner.Interrupt] or [Runner.Stop] from other goroutines
// (a signal handler) while it runs.
type Runner struct {
	flow   *graph.Flow
	opts   Options
	log    *slog.Logger
	events *eventLog
	// maxValue bounds the accumulation of an output (MaxValueBytes).
	maxValue int64
	// answers counts the answers the nodes showed (Env.Answers).
	answers *registry.AnswerTally

	mu         sync.Mutex
	nodes      []*nodeState
	work       []*nodeState
	running    int
	stopping   bool
	reason     string
	stoppedBy  string
	stopReason string
	// interactive: a node reads the terminal, which is one (Interactive).
	interactive bool
	err         error
	limitNodes  []*nodeState
	started     bool
	// startOrder lists the nodes in the order of their first run, for
	// closing them in reverse.
	startOrder []*nodeState

	ctx      context.Context
	cancel   context.CancelCauseFunc
	done     chan struct{}
	wg       sync.WaitGroup
	progress atomic.Int64
}

// Run executes flow until it ends and reports how; it is New followed by
// Runner.Run.
func Run(ctx context.Context, flow *graph.Flow, opts Options) (*Result, error) {
	r, err := New(flow, opts)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx)
}

// New prepares a run of flow: it creates every node instance with its
// type's constructor. A constructor error is returned as a *NodeError.
func New(flow *graph.Flow, opts Options) (*Runner, error) {
	r := &Runner{flow: flow, opts: opts, log: opts.Logger, done: make(chan struct{})}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.opts.RunID == "" {
		r.opts.RunID = newRunID()
	}
	r.log = r.log.With("run_id", r.opts.RunID)
	if opts.Events != nil {
		r.events = newEventLog(opts.Events)
	}
	if opts.Env.Getenv != nil {
		return nil, errors.New("engine.Options.Env.Getenv is set: the nodes read the environment the flow was loaded with; set graph.Options.Getenv instead")
	}
	if opts.KeepFinals && opts.NoNodeResults {
		return nil, errors.New("engine.Options: KeepFinals and NoNodeResults are both set: keep the final values or leave them out, not both")
	}
	env := opts.Env
	if env.Answers == nil {
		env.Answers = new(registry.AnswerTally)
	}
	r.answers = env.Answers
	env.Getenv = flow.Getenv
	if env.Getenv == nil {
		env.Getenv = registry.OSEnv()
	}
	if opts.MaxValueBytes != 0 {
		env.ValueLimit = opts.MaxValueBytes
	}
	r.maxValue = env.MaxValueBytes()
	if env.Shared == nil {
		env.Shared = registry.NewShared() // one per run: nothing outlives it
	}
	env.Interrupt = r.Cut
	r.interactive = env.Interactive && slices.ContainsFunc(flow.Nodes, func(n *graph.Node) bool { return readsTerminal(n.Spec) })
	r.nodes = make([]*nodeState, len(flow.Nodes))
	for i, gn := range flow.Nodes {
		r.nodes[i] = newNodeState(gn)
	}
	for _, ns := range r.nodes {
		ns.wire(r.nodes)
	}
	for _, ns := range r.nodes {
		ns.findNeeds(opts.KeepFinals || opts.Events != nil)
	}
	dir := filepath.Dir(flow.File)
	for _, ns := range r.nodes {
		ns.limit = opts.MaxGenerations
		if ns.n.MaxGenerations > 0 {
			ns.limit = ns.n.MaxGenerations
		}
		if l, ok := opts.NodeLimits[ns.n.ID]; ok {
			ns.limit = l
		}
		names := make([]string, len(ns.n.Inputs))
		for i, b := range ns.n.Inputs {
			names[i] = b.Name
		}
		cfg := registry.Config{ID: ns.n.ID, Params: ns.n.Params, Inputs: names, Dir: dir}
		impl, err := newNode(ns.n.Spec, cfg, env)
		if err != nil {
			nerr := &NodeError{Node: ns.n.ID, Type: ns.n.Type, Pos: ns.n.Pos, Generation: -1, Err: err}
			// The nodes created so far are closed, as after a run.
			return nil, errors.Join(nerr, r.closeNodes(context.Background(), r.closeOrder()))
		}
		ns.impl = impl
	}
	return r, nil
}

// newRunID returns a short random id that tells the log lines of one run
// of a flow from another's.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newNode calls a constructor, turning a panic into an error.
func newNode(spec *registry.Spec, cfg registry.Config, env registry.Env) (node registry.Node, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError(p)
		}
	}()
	node, err = spec.New(cfg, env)
	if err == nil && node == nil {
		err = errors.New("constructor returned no node")
	}
	return node, err
}

// Run executes the flow until it ends: nothing is left to run, a node
// stops it, a node fails, or ctx is cancelled. It returns the result and,
// for a failed run, a *NodeError; for an interrupted one, an error wrapping
// ErrInterrupted. Run returns only when every goroutine it started ended.
//
// Once the runs ended, Run closes the nodes that implement
// [registry.Closer] (see there for the order and the context); their
// errors, as *NodeError with Closing set, are joined to the error Run
// returns, and the Result is unchanged.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return nil, errors.New("engine: a Runner runs once")
	}
	r.started = true
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	r.mu.Unlock()
	defer r.cancel(nil)

	// Cancelling the caller's ctx stops the flow.
	watchDone := make(chan struct{})
	watchEnded := make(chan struct{})
	go func() {
		defer close(watchEnded)
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.stopLocked(ReasonInterrupted, "", nil)
			r.mu.Unlock()
		case <-watchDone:
		}
	}()
	defer func() { close(watchDone); <-watchEnded }()
	if r.opts.StallTimeout > 0 {
		stall := make(chan struct{})
		stallEnded := make(chan struct{})
		go func() { defer close(stallEnded); r.watchStalls(stall) }()
		defer func() { close(stall); <-stallEnded }()
	}

	r.mu.Lock()
	for _, ns := range r.nodes {
		r.demand(ns)
	}
	first := r.drain()
	r.mu.Unlock()
	if first != nil {
		r.wg.Add(1)
		go r.worker(first)
	}
	r.wg.Wait()
	if ctx.Err() != nil {
		// The caller's cancellation may have ended the runs before the
		// watcher above saw it.
		r.mu.Lock()
		r.stopLocked(ReasonInterrupted, "", nil)
		r.mu.Unlock()
	}
	r.events.close()
	res, err := r.result()
	if cerr := r.closeNodes(ctx, r.closeOrder()); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return res, err
}

func (r *Runner) result() (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Reason:     r.reason,
		StoppedBy:  r.stoppedBy,
		StopReason: r.stopReason,
	}
	if res.Reason == "" {
		res.Reason = ReasonDone
		if len(r.limitNodes) > 0 {
			res.Reason = ReasonLimit
		}
	}
	if (res.Reason == ReasonDone || res.Reason == ReasonStopped) && !r.opts.Env.Interactive {
		// Every prompt was processed, but a script must see that some
		// answers failed (each failure was reported as it happened).
		if err := r.answers.Err(); err != nil {
			res.Reason, res.StoppedBy, res.StopReason = ReasonFailed, "", ""
			r.err = err
		}
	}
	slices.SortFunc(r.limitNodes, func(a, b *nodeState) int { return a.n.Index - b.n.Index })
	if len(r.limitNodes) > 0 {
		res.LimitNodes = make([]string, 0, len(r.limitNodes))
	}
	for _, ns := range r.limitNodes {
		res.LimitNodes = append(res.LimitNodes, ns.n.ID)
	}
	if !r.opts.NoNodeResults {
		r.nodeResults(res)
	}
	switch res.Reason {
	case ReasonFailed:
		return res, r.err
	case ReasonInterrupted:
		return res, ErrInterrupted
	}
	return res, nil
}

// nodeResults fills res.Final and res.Generations.
func (r *Runner) nodeResults(res *Result) {
	res.Final = make(map[string]map[string]any, len(r.nodes))
	res.Generations = make(map[string]int, len(r.nodes))
	for _, ns := range r.nodes {
		res.Generations[ns.n.ID] = ns.gen
		if ns.gen == 0 {
			continue
		}
		outs := make(map[string]any, len(ns.final))
		for i, o := range ns.outputs {
			if ns.known[i] {
				outs[o.Name] = ns.final[i]
			}
		}
		res.Final[ns.n.ID] = outs
	}
}

// An Interruption says what [Runner.Interrupt] did.
type Interruption int

// What an interrupt does.
const (
	// InterruptStopped: the flow stops as with [Runner.Stop] (the flow is
	// not interactive, or work that cannot be interrupted was running).
	InterruptStopped Interruption = iota
	// InterruptCut: the interruptible runs in flight were cut; the flow
	// goes on.
	InterruptCut
	// InterruptEnded: in an interactive flow nothing but the terminal
	// readers was running (the user was at a prompt): the flow ends
	// cleanly, with ReasonStopped and no StoppedBy.
	InterruptEnded
	// InterruptIgnored: the flow was already ending, or not running.
	InterruptIgnored
)

func (i Interruption) String() string {
	switch i {
	case InterruptStopped:
		return "stopped"
	case InterruptCut:
		return "cut"
	case InterruptEnded:
		return "ended"
	}
	return "ignored"
}

// Interactive reports whether the flow is interactive: a node reads the
// terminal (its type declares registry.Terminal) and Options.Env says
// standard input and output are a terminal. Interrupts treat such a flow
// as a session that goes on (see [Runner.Interrupt]).
func (r *Runner) Interactive() bool { return r.interactive }

// Interrupt handles the user's interrupt (Ctrl-C, SIGINT); call it from
// another goroutine while Run runs.
//
// In a flow that is not [Runner.Interactive], it stops the flow like
// [Runner.Stop]: Run returns ErrInterrupted. In an interactive flow, it
// cuts the runs in flight of interruptible types (registry.Spec.
// Interruptible, such as an LLM's answer) and the flow goes on: each
// gives its consumers what it chooses, its stream readers see their
// stream end with registry.ErrInterrupted. With no such run in flight and
// nothing else running but the nodes that read the terminal, the user was
// at a prompt: the flow ends cleanly (ReasonStopped). With other work
// running, the flow stops like Stop.
//
// Whatever happens, no value of a run cut short is passed on as if it
// were complete: a run that ended only because an interrupted stream
// reached it does not update its final values, and when a value input
// would consume it the flow stops instead (see docs/execution.md).
func (r *Runner) Interrupt() Interruption {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.stopping {
		return InterruptIgnored
	}
	if !r.interactive {
		r.stopLocked(ReasonInterrupted, "", nil)
		return InterruptStopped
	}
	cut, busy := r.cutLocked()
	switch {
	case cut > 0:
		return InterruptCut
	case busy:
		r.stopLocked(ReasonInterrupted, "", nil)
		return InterruptStopped
	}
	r.stopLocked(ReasonStopped, "", nil)
	return InterruptEnded
}

// Cut cuts the runs in flight of interruptible types (registry.Spec.
// Interruptible) as [Runner.Interrupt] does in an interactive flow, in
// any flow, and never stops the flow; it returns how many runs it cut.
// Nodes reach it through registry.Env.Interrupt (web.output's Stop
// button).
func (r *Runner) Cut() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.stopping {
		return 0
	}
	cut, _ := r.cutLocked()
	return cut
}

// cutLocked cuts the interruptible runs in flight and reports how many,
// and whether other work than reading the terminal is running.
func (r *Runner) cutLocked() (cut int, busy bool) {
	for _, ns := range r.nodes {
		switch {
		case !ns.running:
		case ns.n.Spec.Interruptible && ns.cur.cancel != nil:
			ns.cur.interrupted.Store(true)
			ns.cur.cancel(ErrInterrupted)
			cut++
		case !readsTerminal(ns.n.Spec):
			busy = true
		}
	}
	return cut, busy
}

// readsTerminal reports whether the type declares that it reads the
// terminal.
func readsTerminal(s *registry.Spec) bool {
	return slices.Contains(s.Effects, registry.Terminal)
}

// Stop ends the flow: in-flight runs are cancelled and Run returns an
// error wrapping ErrInterrupted.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.stopping {
		return
	}
	r.stopLocked(ReasonInterrupted, "", nil)
}

// stopLocked ends the flow: no run starts any more and the ones in flight
// are cancelled. The first reason wins.
func (r *Runner) stopLocked(reason, by string, err error) {
	if r.stopping {
		return
	}
	r.stopping = true
	r.reason, r.stoppedBy, r.err = reason, by, err
	cause := err
	if cause == nil {
		cause = ErrInterrupted
		if reason == ReasonStopped {
			cause = registry.ErrStop
		}
	}
	r.cancel(cause)
}
