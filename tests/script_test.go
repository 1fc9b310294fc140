package tests

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/flowrun/flowrun/flowcli"
)

var update = flag.Bool("update", false, "rewrite the cmp targets of failing scripts in testdata/script")

// TestMain installs the flowrun command for the scripts: testscript runs
// this test binary as "flowrun", and the function below is then its main.
// It is the one TestMain of package tests.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"flowrun": func() {
			os.Exit(flowcli.Main(context.Background(), os.Args, nil, os.Stdin, os.Stdout, os.Stderr))
		},
		"peakrss": peakRSSMain, // memory_test.go
	})
}

// TestScripts runs the CLI scripts in testdata/script. Besides the
// standard commands, scripts can use:
//
//	exits N prog [args...]     run prog like exec and want exit code N
//	start NAME prog [args...]  start prog in the background; its output goes
//	                           to NAME.stdout and NAME.stderr
//	signal NAME INT|TERM       send a signal to a started program
//	waitexit NAME N            wait for a started program, want exit code N
//	waitfile FILE [REGEXP]     wait until FILE exists and is not empty, or
//	                           until it has a line matching REGEXP
//
// $REPO is the repository root.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Values[procsKey{}] = map[string]*proc{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"start":    cmdStart,
			"signal":   cmdSignal,
			"waitexit": cmdWaitExit,
			"waitfile": cmdWaitFile,
		},
	})
}

// waitLimit bounds every wait of the custom commands.
const waitLimit = 30 * time.Second

func exitCode(err error) (int, bool) {
	if err == nil {
		return 0, true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return ee.ExitCode(), true
	}
	return -1, false
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad exit code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got, ok := exitCode(err)
	if !ok {
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

type procsKey struct{}

// A proc is a program started by the start command.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func procs(ts *testscript.TestScript) map[string]*proc {
	return ts.Value(procsKey{}).(map[string]*proc)
}

func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: start NAME prog [args...]")
	}
	name := args[0]
	if procs(ts)[name] != nil {
		ts.Fatalf("start: %q already started", name)
	}
	// Look the program up in the script's PATH, where flowrun is.
	path := args[1]
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, args[1]); fileExists(p) {
			path = p
			break
		}
	}
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	env := os.Environ()
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "WORK"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	cmd.Env = env
	stdout, err := os.Create(ts.MkAbs(name + ".stdout"))
	ts.Check(err)
	stderr, err := os.Create(ts.MkAbs(name + ".stderr"))
	ts.Check(err)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ts.Check(cmd.Start())
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(p.done)
	}()
	procs(ts)[name] = p
	ts.Defer(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
}

func startedProc(ts *testscript.TestScript, name string) *proc {
	p := procs(ts)[name]
	if p == nil {
		ts.Fatalf("no program started as %q", name)
	}
	return p
}

func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal NAME INT|TERM")
	}
	p := startedProc(ts, args[0])
	sig := map[string]os.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}[args[1]]
	if sig == nil {
		ts.Fatalf("signal: unknown signal %q", args[1])
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		ts.Fatalf("signal: %v", err)
	}
}

func cmdWaitExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitexit NAME N")
	}
	p := startedProc(ts, args[0])
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("waitexit: bad exit code %q", args[1])
	}
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		ts.Fatalf("waitexit: %q still running after %v", args[0], waitLimit)
	}
	for _, f := range []string{".stdout", ".stderr"} {
		if out, err := os.ReadFile(ts.MkAbs(args[0] + f)); err == nil && len(out) > 0 {
			ts.Logf("[%s%s]\n%s", args[0], f, strings.TrimRight(string(out), "\n"))
		}
	}
	got, ok := exitCode(p.err)
	if !ok {
		ts.Fatalf("waitexit: %v", p.err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [REGEXP]")
	}
	var re *regexp.Regexp
	if len(args) == 2 {
		var err error
		if re, err = regexp.Compile("(?m)" + args[1]); err != nil {
			ts.Fatalf("waitfile: %v", err)
		}
	}
	deadline := time.Now().Add(waitLimit)
	for {
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && len(data) > 0 && (re == nil || re.Match(data)) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile: %s: no match after %v", args[0], waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}
