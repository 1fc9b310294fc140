package flowcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/builtin"
	"github.com/flowrun/flowrun/engine"
	"github.com/flowrun/flowrun/registry"
	"github.com/flowrun/flowrun/secret"
)

// Version is flowrun's version, printed by "flowrun --version". Release
// builds set it with -ldflags "-X github.com/flowrun/flowrun/flowcli.Version=v1.2.3".
// When it is left at "dev", the module version recorded by "go install"
// is used instead. It is the one package-level variable of flowrun that is
// meant to be written, and only by the linker.
var Version = "dev"

// version returns the version to print.
func version() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return Version
}

// Main runs flowrun with args (args[0] is the program name) over the node
// types of reg and returns the exit code (see [ExitCode]). A nil reg means
// the built-in node types ([builtin.Register]); a program with node types
// of its own passes a registry holding them (and usually the built-ins
// too), and every command (run, validate, explain, nodes, schema, graph)
// knows them. Main reads the flow's standard input from stdin, writes data
// to stdout and diagnostics to stderr, and handles SIGINT and SIGTERM while
// a flow runs. It never calls os.Exit.
func Main(ctx context.Context, args []string, reg *registry.Registry, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, reg, stdin, stdout, stderr, os.Environ())
}

// mainEnv is Main with the environment given as "NAME=value" entries.
func mainEnv(ctx context.Context, args []string, reg *registry.Registry, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	getenv := func(name string) string { return vars[name] }
	secrets := secret.NewSet()
	secrets.AddEnviron(environ, secretNames(vars[secretsVar])...)
	errw := secrets.Writer(stderr)
	defer errw.Flush()
	p := &program{
		reg:     reg,
		stdin:   stdin,
		stdout:  stdout,
		stderr:  errw,
		getenv:  secrets.Getenv(getenv),
		secrets: secrets,
		signals: notifySignals,
	}
	return p.main(ctx, args)
}

// secretsVar names the variable that lists more variables whose values
// are secrets, besides those whose names look secret.
const secretsVar = "FLOWRUN_SECRETS"

// secretNames splits the comma-separated list of variable names in v.
func secretNames(v string) []string {
	var names []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// A program is one invocation of flowrun with its side effects.
type program struct {
	// reg holds the node types; nil means the built-in ones.
	reg *registry.Registry
	// policy refuses node types by their effects (--deny, --allow).
	policy registry.Policy
	// root confines subflows (--root); empty means graph.DefaultRoot.
	root   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// secrets holds the values masked in diagnostics, logs and the event
	// log; getenv records every variable a flow reads in it. Nil masks
	// nothing.
	secrets *secret.Set
	// signals subscribes to SIGINT and SIGTERM; stop unsubscribes.
	signals func() (c <-chan os.Signal, stop func())
	// maxFileSize is the size limit of flow files (--max-file-size; 0:
	// graph.DefaultMaxFileSize).
	maxFileSize int64
}

// notifySignals delivers SIGINT and SIGTERM on the returned channel,
// instead of the default action of killing the process, until stop.
func notifySignals() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	return c, func() { signal.Stop(c) }
}

func (p *program) main(ctx context.Context, args []string) int {
	app := p.app()
	err := app.RunContext(ctx, p.normalizeArgs(app, args))
	p.report(err)
	return ExitCode(err)
}

// report prints err on stderr, unless the command already did. The parts
// of a joined error (a failed run and a node that failed to close) are
// reported one by one.
func (p *program) report(err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			p.report(e)
		}
		return
	}
	var (
		reported *reportedError
		usage    *usageError
		nodeErr  *engine.NodeError
		failed   *registry.AnswersFailedError
	)
	switch {
	case err == nil, errors.As(err, &reported):
	case errors.As(err, &failed):
		// The failures were reported one by one: a bare summary.
		fmt.Fprintln(p.stderr, failed.Error())
	case errors.As(err, &usage):
		fmt.Fprintf(p.stderr, "%s: %v\n", usage.cmd, usage.err)
		hint := usage.hint
		if hint == "" {
			hint = fmt.Sprintf("Run '%s --help' for usage.", usage.cmd)
		}
		fmt.Fprintln(p.stderr, hint)
	case errors.As(err, &nodeErr):
		fmt.Fprintln(p.stderr, nodeErr.Error())
		if nodeErr.Stack != "" {
			fmt.Fprintln(p.stderr, strings.TrimRight(nodeErr.Stack, "\n"))
		}
	case ExitCode(err) == ExitInterrupted:
		fmt.Fprintln(p.stderr, "flowrun: interrupted")
	default:
		fmt.Fprintf(p.stderr, "flowrun: %v\n", err)
	}
}

// newRegistry returns the program's registry, or a new one with the
// built-in node types when the program was given none.
// The types whose effects --deny or --allow refuse are left out of it.
func (p *program) newRegistry() (*registry.Registry, error) {
	reg, err := p.allTypes()
	if err != nil {
		return nil, err
	}
	if !p.policy.IsZero() {
		reg = reg.Restrict(p.policy)
	}
	return reg, nil
}

// allTypes returns the program's registry, or a new one with the
// built-in node types when the program was given none, whatever
// --deny and --allow say ("flowrun test" applies them itself, sparing
// the nodes a case mocks).
func (p *program) allTypes() (*registry.Registry, error) {
	if p.reg != nil {
		return p.reg, nil
	}
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		return nil, fmt.Errorf("registering built-in nodes: %w", err)
	}
	return reg, nil
}

const appDescription = `flowrun runs dataflow graphs written in YAML: nodes connected output to
input, run by Flowno's generation rule, with cycles started by defaults,
streaming connections and stateful nodes. "flowrun FLOW.yaml" is short for
"flowrun run FLOW.yaml".

Examples:
   flowrun flows/chatbot.yaml
   flowrun run --max-generations 10 --print-final json loop.yaml
   flowrun validate flows/            # every *.yaml and *.yml, recursively
   flowrun validate --format json 'flows/**/*.yaml'
   flowrun explain math.inc
   flowrun graph --format mermaid loop.yaml

Exit codes:
   0    success (a run ended, was stopped by a node or reached a limit)
   1    a node failed, or an I/O error
   2    usage error, unknown node type or invalid flow (nothing ran)
   130  interrupted by SIGINT or SIGTERM`

func (p *program) app() *ucli.App {
	app := &ucli.App{
		Name:      "flowrun",
		HelpName:  "flowrun",
		Usage:     "run declarative dataflow graphs written in YAML",
		UsageText: "flowrun [run options] FLOW.yaml\nflowrun command [command options] [arguments...]",
		// The description carries the examples and the exit codes, so
		// that "flowrun --help" documents them.
		Description:               appDescription,
		Version:                   version(),
		Reader:                    p.stdin,
		Writer:                    p.stdout,
		ErrWriter:                 p.stderr,
		DisableSliceFlagSeparator: true,
		// urfave/cli's own help and version flags are package variables
		// that every run writes to, a data race when Main runs
		// concurrently (as the tests do); each app gets its own.
		HideHelp:    true,
		HideVersion: true,
		Flags: []ucli.Flag{
			helpFlag(),
			&ucli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true},
		},
		// Errors are reported by Main, which also picks the exit code.
		ExitErrHandler: func(*ucli.Context, error) {},
		OnUsageError:   onUsageError,
		Action:         p.rootAction,
		Commands: []*ucli.Command{
			p.runCommand(),
			p.validateCommand(),
			p.nodesCommand(),
			p.explainCommand(),
			p.graphCommand(),
			p.schemaCommand(),
			p.testCommand(),
			p.serverCommand(),
			p.workerCommand(),
			helpCommand(),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
		c.HideHelp = true
		c.Flags = append(c.Flags, helpFlag())
	}
	return app
}

// helpFlag returns a new --help flag. urfave/cli shows the help of the
// command when a flag named "help" is set.
func helpFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}

// helpCommand returns the "help [command]" command.
func helpCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "help",
		Usage:     "show help for flowrun or for a command",
		ArgsUsage: "[command]",
		Action: func(c *ucli.Context) error {
			switch c.NArg() {
			case 0:
				return ucli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if findCommand(c.App, name) == nil {
					return usagef("flowrun help", "unknown command %q%s", name, didYouMean(name, commandNames(c.App)))
				}
				return ucli.ShowCommandHelp(c, name)
			}
			return usagef("flowrun help", "want at most one command, got %d arguments", c.NArg())
		},
	}
}

func commandNames(app *ucli.App) []string {
	var names []string
	for _, cmd := range app.Commands {
		names = append(names, cmd.Name)
	}
	return names
}

// onUsageError turns a flag parsing error into a usage error.
func onUsageError(c *ucli.Context, err error, _ bool) error {
	return &usageError{cmd: helpName(c), err: err}
}

// helpName returns "flowrun" or "flowrun CMD" for the command of c.
func helpName(c *ucli.Context) string {
	if c.Command != nil && c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return "flowrun"
}

// rootAction handles "flowrun" without a command: help, or an unknown
// command (normalizeArgs already turned "flowrun FLOW.yaml" into run).
func (p *program) rootAction(c *ucli.Context) error {
	if c.Bool("version") {
		_, err := fmt.Fprintf(p.stdout, "flowrun version %s\n", c.App.Version)
		return err
	}
	if !c.Args().Present() {
		c.App.Writer = p.stderr
		_ = ucli.ShowAppHelp(c)
		return &reportedError{code: ExitUsage, err: errors.New("no command")}
	}
	name := c.Args().First()
	return &usageError{
		cmd:  "flowrun",
		err:  fmt.Errorf("unknown command %q%s", name, didYouMean(name, commandNames(c.App))),
		hint: "Run 'flowrun --help' for the commands; 'flowrun FILE.yaml' runs a flow.",
	}
}

// normalizeArgs makes two conveniences of the command line work with
// urfave/cli, which stops parsing flags at the first argument:
//
//   - "flowrun [run flags] FLOW.yaml" means "flowrun run ...": when the
//     first argument is not a command, nor help or version, but a flag or
//     a .yaml/.yml file, "run" is inserted;
//   - flags may follow the positional arguments of a command
//     ("flowrun run loop.yaml --max-generations 3"): they are moved in
//     front of them. "--" ends the flags as usual.
func (p *program) normalizeArgs(app *ucli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	first := args[1]
	cmd := findCommand(app, first)
	if cmd == nil && !isRootArg(first) && (strings.HasPrefix(first, "-") || isFlowFile(first)) {
		cmd = findCommand(app, "run")
		args = slices.Concat(args[:1], []string{"run"}, args[1:])
	}
	if cmd == nil {
		return args
	}
	return slices.Concat(args[:2], reorderFlags(cmd.Flags, args[2:]))
}

func findCommand(app *ucli.App, name string) *ucli.Command {
	for _, c := range app.Commands {
		if slices.Contains(c.Names(), name) {
			return c
		}
	}
	return nil
}

// isRootArg reports whether arg is handled by flowrun itself rather than a
// command.
func isRootArg(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "-v", "-version", "--version", "help":
		return true
	}
	return false
}

func isFlowFile(arg string) bool {
	return strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
}

// reorderFlags moves the flags in args (with their values) in front of
// the positional arguments, keeping the order within each group.
func reorderFlags(flags []ucli.Flag, args []string) []string {
	takesValue := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*ucli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			return slices.Concat(opts, []string{"--"}, pos)
		case len(a) > 1 && a[0] == '-':
			opts = append(opts, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
				i++
				opts = append(opts, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return slices.Concat(opts, pos)
}
