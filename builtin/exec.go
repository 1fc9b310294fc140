package builtin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flowrun/flowrun/registry"
)

// execBaseEnv lists the environment variables every program receives from
// the flow's environment, when they are set.
var execBaseEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "TERM"}

// execStderrLines is how many lines of standard error a failure reports.
const execStderrLines = 20

func execSpec() registry.Spec {
	return registry.Spec{
		Type:    "exec",
		Effects: []registry.Effect{registry.Exec},
		Doc: "Runs an external program once per run, so that a node can be written in any language.\n\n" +
			"command is the program and its arguments as a list; no shell is involved (write [sh, -c, \"...\"] for one). " +
			"A program without a slash is looked up in the flow's PATH; a relative path with a slash is relative to the " +
			"flow file's directory, which is also the working directory. The values of the input args are appended to the " +
			"arguments (strings as is, others as JSON). With stdin json (the default) the node's other inputs are written " +
			"to standard input as one JSON object and a line end; with none, standard input is empty.\n\n" +
			"Each line of standard output is emitted as a chunk as soon as it is written, line end included. " +
			"The final value depends on output: text gives the whole standard output as a string, lines the list of " +
			"lines without line ends, json the JSON value standard output holds.\n\n" +
			"The program's environment holds only " + strings.Join(execBaseEnv, ", ") + " from the flow's environment, " +
			"the variables named in pass_env and those set in env. Its standard error is copied to the flow's standard " +
			"error. A non-zero exit status is an error that gives the status and the last 20 lines of standard error. " +
			"When the run is cancelled or exceeds timeout, the program and its process group are killed.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "command", Type: registry.Array, Const: true, Doc: "The program and its arguments, as a list of strings."},
			{Name: "args", Type: registry.Array, Default: []any{}, HasDefault: true, Doc: "Arguments appended to command at each run."},
			{Name: "stdin", Type: registry.String, Const: true, Default: "json", HasDefault: true, Enum: []any{"json", "none"},
				Doc: "What the program reads: json (the other inputs as a JSON object) or none."},
			{Name: "output", Type: registry.String, Const: true, Default: "text", HasDefault: true, Enum: []any{"text", "lines", "json"},
				Doc: "The final value: text (all output), lines (a list of lines) or json (output parsed as JSON)."},
			{Name: "timeout", Const: true, Default: 0, HasDefault: true,
				Doc: "The time limit of a run: a number of seconds or a duration such as \"5s\"; 0 means none."},
			{Name: "env", Type: registry.Object, Const: true, Default: map[string]any{}, HasDefault: true,
				Doc: "Environment variables to set for the program, name to string value."},
			{Name: "pass_env", Type: registry.Array, Const: true, Default: []any{}, HasDefault: true,
				Doc: "Names of further environment variables passed from the flow's environment."},
		},
		Variadic: &registry.Input{Doc: "A value written, under its name, into the JSON object on standard input."},
		Outputs:  []registry.Output{{Name: "out", Doc: "One chunk per line of standard output."}},
		Example: "score:\n  type: exec\n  inputs: {text: message}\n" +
			"  with:\n    command: [python3, score.py]\n    output: json\n    timeout: 10s\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			n, err := newExecNode(cfg, env)
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

// execNode runs a program per run.
type execNode struct {
	command []string
	stdin   string
	output  string
	timeout time.Duration
	setEnv  []string // NAME=value, from the env parameter
	passEnv []string
	dir     string
	inputs  []string // the variadic inputs, written to stdin
	env     registry.Env
}

var _ registry.Node = (*execNode)(nil)

func newExecNode(cfg registry.Config, env registry.Env) (*execNode, error) {
	n := &execNode{dir: cfg.Dir, env: env}
	n.inputs = variadicNames(cfg, "command", "args", "stdin", "output", "timeout", "env", "pass_env")
	var err error
	if n.command, err = cfg.Params.Strings("command"); err != nil {
		return nil, err
	}
	if len(n.command) == 0 || n.command[0] == "" {
		return nil, paramError("command", "want a list of strings, the program and its arguments, got %s", registry.Describe(cfg.Params["command"]))
	}
	if n.stdin, err = cfg.Params.OneOf("stdin", "json", "none"); err != nil {
		return nil, err
	}
	if n.output, err = cfg.Params.OneOf("output", "text", "lines", "json"); err != nil {
		return nil, err
	}
	if n.timeout, err = cfg.Params.Duration("timeout"); err != nil {
		return nil, err
	}
	vars, err := cfg.Params.Object("env")
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(vars) {
		v, ok := vars[name].(string)
		if !ok || name == "" || strings.ContainsAny(name, "=\x00") {
			return nil, paramError("env", "variable %q: want a name without = and a string value, got %s", name, registry.Describe(vars[name]))
		}
		n.setEnv = append(n.setEnv, name+"="+v)
	}
	if n.passEnv, err = cfg.Params.Strings("pass_env"); err != nil {
		return nil, err
	}
	if i := slices.Index(n.passEnv, ""); i >= 0 {
		return nil, paramError("pass_env", "element %d: want a variable name, got an empty string", i)
	}
	return n, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (n *execNode) getenv(name string) string {
	if n.env.Getenv == nil {
		return ""
	}
	return n.env.Getenv(name)
}

// environ builds the program's environment.
func (n *execNode) environ() []string {
	var env []string
	for _, name := range append(slices.Clone(execBaseEnv), n.passEnv...) {
		if v := n.getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return append(env, n.setEnv...)
}

// program resolves the program's path: by the flow's PATH when the name
// has no slash, else relative to the flow file's directory.
func (n *execNode) program() (string, error) {
	name := n.command[0]
	if strings.Contains(name, "/") {
		return resolvePath(n.dir, name), nil
	}
	for _, dir := range filepath.SplitList(n.getenv("PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("program %q not found in PATH", name)
}

// errExecTimeout is the cause of a run that exceeded its timeout.
var errExecTimeout = errors.New("program timed out")

func (n *execNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	defer endRun(ctx, &err)
	path, err := n.program()
	if err != nil {
		return err
	}
	args := slices.Clone(n.command[1:])
	extra, ok := in.Value("args").([]any)
	if !ok && in.Value("args") != nil {
		return fmt.Errorf("input %q: want a list, got %s", "args", registry.Describe(in.Value("args")))
	}
	for _, a := range extra {
		args = append(args, text(a))
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if n.timeout > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = context.WithTimeoutCause(runCtx, n.timeout, errExecTimeout)
		defer cancelTimeout()
	}
	cmd := exec.CommandContext(runCtx, path, args...)
	cmd.Args[0] = n.command[0]
	cmd.Dir = n.dir
	cmd.Env = n.environ()
	cmd.WaitDelay = time.Second
	killProcessGroup(cmd)
	if n.stdin == "json" {
		obj := make(map[string]any, len(n.inputs))
		for _, name := range n.inputs {
			obj[name] = in.Value(name)
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encode inputs: %w", err)
		}
		cmd.Stdin = bytes.NewReader(append(data, '\n'))
	}
	tail := &tailWriter{max: execStderrLines}
	cmd.Stderr = tail
	if n.env.Stderr != nil {
		cmd.Stderr = io.MultiWriter(tail, n.env.Stderr)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	release, err := startProgram(cmd)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot start program %q: %w", n.command[0], pe.Err)
		}
		return fmt.Errorf("cannot start program %q: %w", n.command[0], err)
	}

	// The whole output is kept only when it is needed: in text mode the
	// engine accumulates the chunks into it when something needs it, so a
	// program that writes forever keeps flat memory.
	keep := n.output != "text" && (n.output == "json" || registry.Needed(out, "out"))
	var all strings.Builder
	var lines []any
	var size int64
	emitted := false
	r := bufio.NewReader(stdout)
	var emitErr error
	for {
		line, rerr := readLine(r, n.env.MaxValueBytes())
		if line != "" && emitErr == nil {
			emitErr = out.Emit(ctx, "out", line)
			emitted = true
			if keep && emitErr == nil {
				if size += int64(len(line)) + 16; size > n.env.MaxValueBytes() {
					emitErr = &registry.ValueTooLargeError{Output: "out", Limit: n.env.MaxValueBytes()}
				} else if n.output == "json" {
					all.WriteString(line)
				} else {
					lines = append(lines, strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
				}
			}
			if emitErr != nil {
				cancel(emitErr) // kill the program; keep draining so Wait returns
			}
		}
		var big *registry.ValueTooLargeError
		if errors.As(rerr, &big) && emitErr == nil {
			emitErr = fmt.Errorf("a line of the program's output: %w", rerr)
			cancel(emitErr)
			_, _ = io.Copy(io.Discard, stdout) // so that Wait returns
		}
		if rerr != nil {
			break
		}
	}
	waitErr := cmd.Wait()
	release()
	if emitErr != nil {
		return emitErr
	}
	if errors.Is(context.Cause(runCtx), errExecTimeout) {
		return fmt.Errorf("program %q: %w after %v%s", n.command[0], errExecTimeout, n.timeout, tail.report())
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) && ee.ExitCode() >= 0 {
			return fmt.Errorf("program %q exited with status %d%s", n.command[0], ee.ExitCode(), tail.report())
		}
		return fmt.Errorf("program %q: %w%s", n.command[0], waitErr, tail.report())
	}
	switch n.output {
	case "lines":
		if lines == nil {
			lines = []any{}
		}
		if keep {
			out.Set("out", lines)
		}
	case "json":
		v, err := decodeJSON([]byte(all.String()))
		if err != nil {
			return fmt.Errorf("program %q: output: %w", n.command[0], err)
		}
		out.Set("out", v)
	default:
		// The chunks' accumulation is the output; set it only when there
		// was none, so that it is "" rather than null.
		if !emitted {
			out.Set("out", "")
		}
	}
	return nil
}

// tailWriter keeps the last max lines written to it, each cut to 1 KiB.
type tailWriter struct {
	max     int
	lines   []string
	partial []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			w.push()
			continue
		}
		if len(w.partial) < 1024 {
			w.partial = append(w.partial, b)
		}
	}
	return len(p), nil
}

func (w *tailWriter) push() {
	w.lines = append(w.lines, string(w.partial))
	w.partial = w.partial[:0]
	if len(w.lines) > w.max {
		w.lines = w.lines[len(w.lines)-w.max:]
	}
}

// report returns "; stderr:" and the kept lines, or "" when there are none.
func (w *tailWriter) report() string {
	if len(w.partial) > 0 {
		w.push()
	}
	if len(w.lines) == 0 {
		return ""
	}
	return "; stderr:\n" + strings.Join(w.lines, "\n")
}

// readLine reads up to and including the next line end, like
// bufio.Reader.ReadString, but returns a *registry.ValueTooLargeError
// when the line grows past limit bytes.
func readLine(r *bufio.Reader, limit int64) (string, error) {
	var long []byte
	for {
		part, err := r.ReadSlice('\n')
		if err != bufio.ErrBufferFull {
			if long == nil {
				return string(part), err
			}
			return string(append(long, part...)), err
		}
		if int64(len(long)+len(part)) > limit {
			return "", &registry.ValueTooLargeError{Output: "out", Limit: limit}
		}
		long = append(long, part...)
	}
}
