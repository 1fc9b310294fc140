package flowcli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/cluster"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/graph"
)

// natsEnv is the variable that gives "flowrun run" and "flowrun worker"
// their NATS server when --nats is not given.
const natsEnv = "FLOWRUN_NATS"

func (p *program) serverCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "server",
		Usage:     "run an embedded NATS server with JetStream for workers and coordinators",
		ArgsUsage: " ",
		Description: `Runs a NATS server with JetStream in this process, for a small cluster
without installing anything, until SIGINT or SIGTERM. It listens on
loopback by default; another address requires a token (--token or
$FLOWRUN_NATS_TOKEN), which clients put in the URL: nats://TOKEN@host:port.

Examples:
   flowrun server --store /var/lib/flowrun/nats
   flowrun server --listen 0.0.0.0:4222 --token "$(cat token)" --store DIR`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "listen", Value: "127.0.0.1:4222", Usage: "listen on `HOST:PORT`"},
			&ucli.StringFlag{Name: "store", Usage: "keep JetStream's files in `DIR` (default: a temporary directory removed at exit)"},
			&ucli.StringFlag{Name: "token", EnvVars: []string{"FLOWRUN_NATS_TOKEN"}, Usage: "require `TOKEN` from every client"},
		},
		Action: p.serverAction,
	}
}

func (p *program) serverAction(c *ucli.Context) error {
	if c.NArg() != 0 {
		return usagef("flowrun server", "takes no arguments, got %d", c.NArg())
	}
	store := c.String("store")
	if store == "" {
		dir, err := os.MkdirTemp("", "flowrun-nats-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		store = dir
	}
	token := c.String("token")
	if token != "" {
		p.secrets.Add(token)
	}
	ns, err := cluster.StartServer(cluster.ServerOptions{Listen: c.String("listen"), StoreDir: store, Token: token})
	if err != nil {
		return err
	}
	defer ns.WaitForShutdown()
	defer ns.Shutdown()
	fmt.Fprintf(p.stderr, "flowrun server: NATS with JetStream on %s (store %s); stop with Ctrl-C\n", ns.ClientURL(), store)
	sigs, stop := p.signals()
	defer stop()
	select {
	case <-sigs:
	case <-c.Context.Done():
	}
	fmt.Fprintln(p.stderr, "flowrun server: stopping")
	return nil
}

func (p *program) workerCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "worker",
		Usage:     "take node runs from a NATS server and run them",
		ArgsUsage: " ",
		Description: `Serves node runs of flows run with "flowrun run --nats URL": it takes
them from the server's queue, runs them and reports their outputs. It
serves every node type that can run on a worker, or those --allow and
--types leave. SIGINT or SIGTERM drains it: it takes no more runs, hands
back those it holds but has not started, finishes those in flight and
exits; a second signal cancels those too and hands them back. A worker
whose server is unreachable exits on the first signal, cancelling its
runs in flight: the server hands them to another worker after --ack-wait.
A worker started before its server waits for it.

Examples:
   flowrun worker --nats nats://127.0.0.1:4222
   FLOWRUN_NATS=nats://TOKEN@host:4222 flowrun worker --allow exec --concurrency 8
   flowrun worker --nats URL --types llm.chat,http.request`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "nats", EnvVars: []string{natsEnv}, Usage: "the NATS server's `URL` (nats:// or tls://, credentials in the URL)"},
			allowFlag(),
			denyFlag(),
			&ucli.StringSliceFlag{Name: "types", Usage: "serve only these node types: `LIST`, comma-separated (repeatable)"},
			&ucli.IntFlag{Name: "concurrency", Value: 4, Usage: "run up to `N` node runs at once"},
			&ucli.DurationFlag{Name: "ack-wait", Value: cluster.DefaultAckWait, Usage: "hand a run to another worker after `DURATION` without this worker's heartbeat"},
			&ucli.IntFlag{Name: "max-deliveries", Value: cluster.DefaultMaxDeliveries, Usage: "deliver a run at most `N` times (workers that died or stopped while holding it), then fail the flow run; give every worker the same"},
			&ucli.StringFlag{Name: "log-level", Value: "info", Usage: "log `LEVEL`: debug (one line per run), info, warn or error"},
			&ucli.StringFlag{Name: "log-format", Value: "text", Usage: "log `FORMAT` on stderr: text or json"},
			&ucli.StringFlag{Name: "name", Usage: "the worker's `NAME` in logs (default: host-pid-random)"},
		},
		Action: p.workerAction,
	}
}

func (p *program) workerAction(c *ucli.Context) error {
	const cmd = "flowrun worker"
	if c.NArg() != 0 {
		return usagef(cmd, "takes no arguments, got %d", c.NArg())
	}
	url := c.String("nats")
	if url == "" {
		return usagef(cmd, "--nats: which server? give --nats URL or set $%s", natsEnv)
	}
	if err := p.parsePolicy(c, cmd); err != nil {
		return err
	}
	if n := c.Int("max-deliveries"); n < 1 {
		return usagef(cmd, "--max-deliveries %d: want 1 or more", n)
	}
	logger, err := newLogger(p.stderr, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	reg, err := p.newRegistry()
	if err != nil {
		return err
	}
	var types []string
	for _, v := range c.StringSlice("types") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
	}
	// Signals are handled from the start: a worker waiting for its server
	// stops on Ctrl-C as a running one does.
	drain, stopDrain := context.WithCancel(c.Context)
	defer stopDrain()
	hard, stopHard := context.WithCancel(c.Context)
	defer stopHard()
	sigs, stop := p.signals()
	defer stop()
	var started atomic.Bool // the worker takes runs
	go func() {
		select {
		case <-sigs:
		case <-drain.Done():
			return
		}
		if started.Load() {
			logger.Info("draining; a second signal cancels the runs in flight")
		} else {
			logger.Info("stopping before the worker started")
		}
		stopDrain()
		select {
		case <-sigs:
			stopHard()
		case <-hard.Done():
		}
	}()
	nc, err := p.connect(url, nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	if !waitForServer(drain, nc, url, logger) {
		return nil // stopped before the server was reachable
	}
	nc.SetDisconnectErrHandler(func(nc *nats.Conn, err error) {
		if nc.IsClosed() {
			return // the worker is exiting
		}
		logger.Warn("lost the NATS server; reconnecting", "server", redactURL(url), "error", err)
	})
	nc.SetReconnectHandler(func(*nats.Conn) {
		logger.Info("reconnected to the NATS server", "server", redactURL(url))
	})
	// A worker's nodes read its own environment (PATH for exec, API keys
	// for llm.chat), through the secret set, as a local run's do.
	env := p.nodeEnv(logger)
	env.Getenv = p.getenv
	w, err := cluster.NewWorker(drain, nc, cluster.WorkerOptions{
		Registry: reg, Types: types, Concurrency: c.Int("concurrency"), AckWait: c.Duration("ack-wait"), MaxDeliveries: c.Int("max-deliveries"),
		Env: env, Logger: logger, ID: c.String("name"),
	})
	if err != nil {
		if drain.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	started.Store(true)
	return w.Run(drain, hard)
}

// waitForServer returns once nc is connected, saying once that it waits
// when it is not yet: a worker may start before its server. It returns
// false when ctx ends first.
func waitForServer(ctx context.Context, nc *nats.Conn, url string, logger *slog.Logger) bool {
	if nc.IsConnected() {
		return true
	}
	connected := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(connected)
	if nc.IsConnected() {
		return true
	}
	logger.Warn("waiting for the NATS server: it cannot be reached yet (start it with \"flowrun server\"; Ctrl-C stops)", "server", redactURL(url))
	select {
	case <-connected:
		logger.Info("connected to the NATS server", "server", redactURL(url))
		return true
	case <-ctx.Done():
		return false
	}
}

// connect opens a NATS connection for a coordinator or worker; onLost,
// when not nil, is called once the connection is lost for good.
func (p *program) connect(url string, onLost func(error)) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("flowrun"), nats.ReconnectWait(250 * time.Millisecond)}
	if onLost != nil {
		opts = append(opts, nats.MaxReconnects(8), nats.ClosedHandler(func(nc *nats.Conn) {
			err := nc.LastError()
			if err == nil {
				err = errors.New("connection closed")
			}
			onLost(fmt.Errorf("lost the NATS server %s: %v", redactURL(url), err))
		}))
	} else {
		// A worker waits for its server, at start too.
		opts = append(opts, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the NATS server %s: %v (start one with \"flowrun server\", or use --workers N)", redactURL(url), err)
	}
	return nc, nil
}

// redactURL drops the credentials of a NATS URL for messages.
func redactURL(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if j := strings.LastIndex(url, "@"); j > i {
			return url[:i+3] + "***@" + url[j+1:]
		}
	}
	return url
}

// clusterFlags are the flags of "flowrun run" that run a flow on workers.
func clusterFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "nats", EnvVars: []string{natsEnv}, Usage: "run node runs on the workers of the NATS server at `URL` (see \"flowrun worker\")"},
		&ucli.IntFlag{Name: "workers", Usage: "start an embedded NATS server and `N` local worker processes, run the flow on them, stop them"},
		&ucli.StringFlag{Name: "placement", Value: cluster.PlaceAuto, Usage: "with --nats or --workers: `auto` puts exec, http.request, llm.chat (types that run programs or use the network) on workers; workers puts every node that can run on a worker there"},
		&ucli.DurationFlag{Name: "worker-wait", Value: 10 * time.Second, Usage: "with --nats: wait up to `DURATION` for a worker to serve each node type placed on workers, then fail"},
	}
}

// clusterRun holds what a run on workers needs and must release.
type clusterRun struct {
	exec    *cluster.Executor
	nc      *nats.Conn
	log     *slog.Logger
	cleanup []func()
}

func (cr *clusterRun) close() {
	if cr.exec != nil {
		// Says when the flow run's cancel could not be recorded: its
		// runs on workers go on.
		if err := cr.exec.Close(); err != nil {
			cr.log.Warn("ending the flow run on the workers", "error", err)
		}
	}
	if cr.nc != nil {
		cr.nc.Close()
	}
	for i := len(cr.cleanup) - 1; i >= 0; i-- {
		cr.cleanup[i]()
	}
}

// startCluster prepares a run of flow on workers when --nats or --workers
// asks for it; it returns nil otherwise.
func (p *program) startCluster(c *ucli.Context, flow *graph.Flow, logger *slog.Logger) (_ *clusterRun, err error) {
	const cmd = "flowrun run"
	url, n := c.String("nats"), c.Int("workers")
	placement := c.String("placement")
	if placement != cluster.PlaceAuto && placement != cluster.PlaceWorkers {
		return nil, usagef(cmd, "--placement %q: want auto or workers", placement)
	}
	if n < 0 {
		return nil, usagef(cmd, "--workers %d: want a positive number", n)
	}
	if url == "" && n == 0 {
		return nil, nil
	}
	if url != "" && n > 0 && c.IsSet("nats") {
		return nil, usagef(cmd, "--nats and --workers: choose one (--workers starts its own server)")
	}
	cr := &clusterRun{log: logger}
	defer func() {
		if err != nil {
			cr.close()
		}
	}()
	if n > 0 {
		dir, err := os.MkdirTemp("", "flowrun-nats-")
		if err != nil {
			return nil, err
		}
		cr.cleanup = append(cr.cleanup, func() { os.RemoveAll(dir) })
		ns, err := cluster.StartServer(cluster.ServerOptions{StoreDir: dir})
		if err != nil {
			return nil, err
		}
		cr.cleanup = append(cr.cleanup, func() { ns.Shutdown(); ns.WaitForShutdown() })
		url = ns.ClientURL()
		stopWorkers, err := p.startWorkers(url, n, logger)
		if err != nil {
			return nil, err
		}
		cr.cleanup = append(cr.cleanup, stopWorkers)
	}
	cr.nc, err = p.connect(url, func(err error) {
		if cr.exec != nil {
			cr.exec.LostConnection(err)
		}
	})
	if err != nil {
		return nil, err
	}
	// Results published while the connection was down are looked up in
	// the results stream.
	cr.nc.SetReconnectHandler(func(*nats.Conn) {
		if cr.exec != nil {
			cr.exec.Reconnected()
		}
	})
	cr.exec, err = cluster.NewExecutor(c.Context, cr.nc, cluster.ExecutorOptions{Placement: placement, Logger: logger, Dir: filepath.Dir(flow.File)})
	if err != nil {
		return nil, err
	}
	wait := c.Duration("worker-wait")
	if err := cr.exec.WaitForWorkers(c.Context, flow, wait); err != nil {
		return nil, err
	}
	logger.Debug("running on workers", "nats", redactURL(url), "run", cr.exec.RunID(), "types", strings.Join(cr.exec.RemoteTypes(flow), ","))
	return cr, nil
}

// startWorkers starts n "flowrun worker" processes of this same binary
// and returns what stops them (SIGTERM, then SIGKILL after 10s).
func (p *program) startWorkers(url string, n int, logger *slog.Logger) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = c.Process.Kill()
				<-done
			}
		}
	}
	for i := range n {
		c := &exec.Cmd{Path: exe, Args: []string{"flowrun", "worker", "--nats", url, "--name", fmt.Sprintf("w%d", i+1), "--log-level", "warn"},
			Stdout: p.stderr, Stderr: p.stderr, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting worker %d: %w", i+1, err)
		}
		cmds = append(cmds, c)
	}
	logger.Debug("started workers", "n", n)
	return stop, nil
}

// clusterExecutor returns the executor of cr, or nil.
func (cr *clusterRun) executor() engine.Executor {
	if cr == nil {
		return nil
	}
	return cr.exec
}
