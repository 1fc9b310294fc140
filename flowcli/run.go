package flowcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/internal/console"
	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/secret"
)

const runDescription = `Loads FLOW, checks it like "flowrun validate" (an invalid flow exits 2
without running anything) and runs it until no node can run, a node stops
the flow, a generation limit is reached or a node fails.

In a flow that reads the terminal (such as the chatbot), Ctrl-C cuts what
is in flight (the answer being streamed) and the flow goes on, however
often it is pressed; Ctrl-C at a prompt ends the flow (exit 0). In any
other flow Ctrl-C (SIGINT) stops the flow like SIGTERM: the runs in flight
are cancelled, nothing starts with a value they cut short, exit 130.

Examples:
   flowrun run flows/chatbot.yaml
   flowrun loop.yaml                                 # same as "flowrun run loop.yaml"
   flowrun run --max-generations 10 --print-final json loop.yaml
   flowrun run --max-generations a=3 --max-generations b=5 loop.yaml
   flowrun run --set llm.model=qwen2.5 --set llm.temperature=0.2 flows/chatbot.yaml
   flowrun run --events events.jsonl --log-level debug --log-format json loop.yaml`

func (p *program) runCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "run",
		Usage:       "run a flow (the default command: \"flowrun FLOW.yaml\")",
		ArgsUsage:   "FLOW.yaml",
		Description: runDescription,
		Flags: append([]ucli.Flag{
			&ucli.StringSliceFlag{Name: "set", Usage: "override a constant: `NODE.INPUT=VALUE`, the value in YAML syntax (repeatable)"},
			&ucli.StringSliceFlag{Name: "max-generations", Usage: "stop each node after `N` runs, or one node with NODE=N (repeatable; NODE=N wins)"},
			&ucli.StringFlag{Name: "print-final", Usage: "print every node's final output values at the end, as `json`"},
			&ucli.StringFlag{Name: "events", Usage: "write one JSON line per run start, run end and chunk to `FILE`"},
			&ucli.StringFlag{Name: "log-level", Value: "info", Usage: "log `LEVEL`: debug, info, warn or error"},
			&ucli.StringFlag{Name: "log-format", Value: "text", Usage: "log `FORMAT` on stderr: text or json"},
			&ucli.DurationFlag{Name: "stall-timeout", Usage: "after `DURATION` without progress while runs wait, log who waits for what; 0 turns it off"},
			denyFlag(),
			allowFlag(),
			&ucli.StringFlag{Name: "max-value-bytes", Value: "256MiB", Usage: "fail a run whose whole value built from a stream grows past `SIZE` (such as 64MiB or 2GiB; 0 means no limit)"},
			rootFlag(),
			maxFileSizeFlag(),
		}, clusterFlags()...),
		Action: p.runAction,
	}
}

// runConfig holds the parsed flags of "flowrun run".
type runConfig struct {
	file       string
	set        []string
	maxGen     int
	nodeLimits map[string]int
	printFinal bool
	events     string
	logger     *slog.Logger
	stall      time.Duration
	maxValue   int64
}

func (p *program) parseRunFlags(c *ucli.Context) (*runConfig, error) {
	const cmd = "flowrun run"
	if c.NArg() != 1 {
		return nil, usagef(cmd, "want exactly one flow file, got %d arguments", c.NArg())
	}
	if err := p.parsePolicy(c, cmd); err != nil {
		return nil, err
	}
	p.root = c.String("root")
	if err := p.parseMaxFileSize(c, cmd); err != nil {
		return nil, err
	}
	cfg := &runConfig{file: c.Args().First(), set: c.StringSlice("set"), events: c.String("events"), stall: c.Duration("stall-timeout")}
	for _, v := range c.StringSlice("max-generations") {
		for _, item := range strings.Split(v, ",") {
			node, num, hasNode := strings.Cut(item, "=")
			if !hasNode {
				num = node
			}
			n, err := strconv.Atoi(num)
			if err != nil || n <= 0 {
				return nil, usagef(cmd, "--max-generations %q: want a positive number N or NODE=N", item)
			}
			if !hasNode {
				cfg.maxGen = n
				continue
			}
			if cfg.nodeLimits == nil {
				cfg.nodeLimits = map[string]int{}
			}
			cfg.nodeLimits[node] = n
		}
	}
	switch f := c.String("print-final"); f {
	case "":
	case "json":
		cfg.printFinal = true
	default:
		return nil, usagef(cmd, "--print-final %q: the only format is json", f)
	}
	if v := c.String("max-value-bytes"); v != "" {
		n, err := humanize.ParseBytes(v)
		if err != nil || n > math.MaxInt64 {
			return nil, usagef(cmd, "--max-value-bytes %q: want a size such as 256MiB, 2GiB or 1000000 bytes, or 0 for no limit", v)
		}
		cfg.maxValue = int64(n)
		if n == 0 {
			cfg.maxValue = -1
		}
	}
	if cfg.stall < 0 {
		return nil, usagef(cmd, "--stall-timeout %v: must not be negative", cfg.stall)
	}
	var err error
	cfg.logger, err = newLogger(p.stderr, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return nil, &usageError{cmd: cmd, err: err}
	}
	return cfg, nil
}

// newLogger returns the slog logger of --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	switch level {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "text":
		// People read text logs next to the flow's own output; the time
		// is noise there (use json for machine-read logs with times).
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: dropTime})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func (p *program) runAction(c *ucli.Context) error {
	cfg, err := p.parseRunFlags(c)
	if err != nil {
		return err
	}
	flow, err := p.load("flowrun run", cfg.file, cfg.set)
	if err != nil {
		return err
	}
	for node := range cfg.nodeLimits {
		if flow.Node(node) == nil {
			return usagef("flowrun run", "--max-generations %s=%d: no node %q in %s%s",
				node, cfg.nodeLimits[node], node, cfg.file, didYouMean(node, nodeIDs(flow)))
		}
	}
	cr, err := p.startCluster(c, flow, cfg.logger)
	if err != nil {
		return err
	}
	if cr != nil {
		defer cr.close()
	}
	opts := engine.Options{
		Executor:       cr.executor(),
		Env:            p.nodeEnv(cfg.logger),
		MaxGenerations: cfg.maxGen,
		NodeLimits:     cfg.nodeLimits,
		Logger:         cfg.logger,
		StallTimeout:   cfg.stall,
		KeepFinals:     cfg.printFinal,
		NoNodeResults:  !cfg.printFinal, // only --print-final reads them
		MaxValueBytes:  cfg.maxValue,
	}
	if cr != nil {
		opts.RunID = cr.exec.RunID() // one name for the run on workers and here
	}
	var (
		events  *os.File
		eventsw *secret.Writer
	)
	if cfg.events != "" {
		if events, err = os.Create(cfg.events); err != nil {
			return err
		}
		defer events.Close() // a second Close after the one below is harmless
		eventsw = p.secrets.Writer(events)
		opts.Events = eventsw
	}
	res, err := p.runWithSignals(c.Context, flow, opts)
	if res != nil && res.Reason == engine.ReasonInterrupted {
		err = newInterruptedError(err)
	}
	if cfg.printFinal && res != nil {
		if perr := writeFinal(p.stdout, flow, res); perr != nil {
			return errors.Join(err, perr)
		}
	}
	if events != nil {
		cerr := eventsw.Flush()
		if closeErr := events.Close(); cerr == nil {
			cerr = closeErr
		}
		if cerr != nil && err == nil {
			return fmt.Errorf("writing events: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	switch {
	case res.Reason == engine.ReasonLimit:
		cfg.logger.Info("flow ended: generation limit reached", "nodes", summarize(res.LimitNodes, limitNodesShown))
	case res.Reason == engine.ReasonStopped && res.StopReason != "":
		cfg.logger.Info(fmt.Sprintf("flow stopped by node %q: %s", res.StoppedBy, res.StopReason))
	}
	return nil
}

// limitNodesShown is how many node names the generation limit's line
// lists before it counts the rest.
const limitNodesShown = 5

// summarize joins the first max names with commas and counts the others:
// "a, b, c, d, e and 995 more".
func summarize(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// nodeEnv returns the side effects the flow's nodes may use: the real
// standard streams. The environment is the one the flow was loaded with
// (p.getenv, which records secrets), handed to the nodes by the engine.
func (p *program) nodeEnv(logger *slog.Logger) registry.Env {
	return registry.Env{
		Stdin:       p.stdin,
		Stdout:      p.stdout,
		Stderr:      p.stderr,
		Secrets:     p.secrets,
		Logger:      logger,
		Interactive: isTerminal(p.stdin) && isTerminal(p.stdout),
	}
}

// load reads and loads a flow for run and graph. An invalid flow is
// reported on stderr (with snippets on a terminal) and returned as a
// reportedError with ExitUsage.
func (p *program) load(cmd, file string, set []string) (*graph.Flow, error) {
	src, err := graph.ReadFile(file, p.maxFileSize)
	var list graph.ErrorList
	if errors.As(err, &list) {
		writeDiagnostics(p.stderr, list, sources{file: nil}, p.styleFor(p.stderr))
		return nil, &reportedError{code: ExitUsage, err: err}
	}
	if err != nil {
		return nil, err
	}
	reg, err := p.newRegistry()
	if err != nil {
		return nil, err
	}
	srcs := sources{}
	srcs.put(file, src)
	read, err := p.subflowReader(cmd, file, srcs)
	if err != nil {
		return nil, err
	}
	flow, err := graph.Load(file, src, reg, graph.Options{Getenv: p.getenv, Set: set, ReadFile: read, MaxFileSize: p.maxFileSize})
	if errors.As(err, &list) {
		writeDiagnostics(p.stderr, list, srcs, p.styleFor(p.stderr))
		return nil, &reportedError{code: ExitUsage, err: err}
	}
	return flow, err
}

// runWithSignals runs flow while watching SIGINT and SIGTERM. SIGINT is
// the user's interrupt, engine.Runner.Interrupt: in an interactive flow
// (a node reads the terminal) it cuts what is in flight, such as the
// chatbot's answer, however soon it follows another, and at a prompt it
// ends the flow cleanly; in any other flow it stops the flow like
// SIGTERM. SIGTERM stops the flow, which then ends with an error wrapping
// engine.ErrInterrupted (exit 130). Signals that arrive while the flow
// shuts down change nothing.
func (p *program) runWithSignals(ctx context.Context, flow *graph.Flow, opts engine.Options) (*engine.Result, error) {
	if opts.Env.Interactive && opts.Env.Console == nil {
		// One line editor for the nodes that read the terminal and print
		// above it (term.input, term.print); a Ctrl-C typed at its
		// prompt interrupts the answer in flight, as SIGINT does.
		con := console.New(p.stdin, p.stdout)
		defer con.Close()
		opts.Env.Console = con
		runner, err := engine.New(flow, opts)
		if err != nil {
			return nil, err
		}
		con.Interrupt = func() int {
			// The console goes on with its prompt only when an answer was
			// cut; otherwise the engine ended or stopped the flow.
			did := runner.Interrupt()
			opts.Logger.Debug("interrupt at the prompt", "effect", did.String())
			if did == engine.InterruptCut {
				return 1
			}
			return 0
		}
		return p.runRunner(ctx, runner, opts)
	}
	runner, err := engine.New(flow, opts)
	if err != nil {
		return nil, err
	}
	return p.runRunner(ctx, runner, opts)
}

// runRunner runs runner while watching SIGINT and SIGTERM, as
// runWithSignals says.
func (p *program) runRunner(ctx context.Context, runner *engine.Runner, opts engine.Options) (*engine.Result, error) {
	sigs, stop := p.signals()
	defer stop()
	done := make(chan struct{})
	defer close(done)
	interrupt := func() {
		// A debug record: at info it would land in the middle of the
		// flow's own output, such as the chatbot's answer and its
		// " [interrupted]" mark.
		opts.Logger.Debug("interrupt", "effect", runner.Interrupt().String(), "interactive", runner.Interactive())
	}
	go watchSignals(sigs, done, interrupt, runner.Stop)
	return runner.Run(ctx)
}

// watchSignals calls interrupt on every SIGINT and stop on SIGTERM, until
// done is closed.
func watchSignals(sigs <-chan os.Signal, done <-chan struct{}, interrupt, stop func()) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if s == syscall.SIGTERM {
				stop()
				continue
			}
			interrupt()
		}
	}
}

// writeFinal prints {"node": {"output": value}} for every node of flow as
// indented JSON; a node that never completed a run maps to null.
func writeFinal(w io.Writer, flow *graph.Flow, res *engine.Result) error {
	final := make(map[string]map[string]any, len(flow.Nodes))
	for _, n := range flow.Nodes {
		final[n.ID] = res.Final[n.ID]
	}
	if err := writeJSON(w, final); err != nil {
		return fmt.Errorf("printing final values: %w", err)
	}
	return nil
}

func nodeIDs(flow *graph.Flow) []string {
	ids := make([]string, len(flow.Nodes))
	for i, n := range flow.Nodes {
		ids[i] = n.ID
	}
	return ids
}
