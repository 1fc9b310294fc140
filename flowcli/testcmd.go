package flowcli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/graph"
)

const testDescription = `Runs the unit tests of flows: the cases of test files named *_test.yaml
(or *_test.yml), which sit next to the flows they test. Each case runs its
flow with the constants, environment, standard input, limits and mocked
nodes it gives, and checks final values, run counts, the values nodes
received and produced across runs, stdout, stderr and how the flow ended.
docs/testing.md describes every key.

PATH may be a test file, a flow (its FLOW_test.yaml runs), a directory
(every *_test.yaml below it, skipping directories named .* and
node_modules) or a glob; the default is the current directory.

--deny and --allow refuse node types by their effects, as in "flowrun
run", except in the nodes a case mocks: a case in which a node that is
not mocked has a refused type fails without running.

Failures are file:line:col: case "name": what: expected X, got Y, at the
expectation's position in the test file, with a diff for long values.

Exit status: 0 all cases passed, 1 a case failed, 2 a test file or a flow
it names is invalid (or a file could not be read).

Examples:
   flowrun test                        # every *_test.yaml below .
   flowrun test flows/
   flowrun test -v --run 'two turns' flows/chatbot_test.yaml
   flowrun test --format junit flows/ > flow-tests.xml
   flowrun test --format github flows/ # annotations in GitHub Actions
   flowrun test --deny net,exec flows/ # a node that is not mocked may not use the network or run programs
   flowrun test --update flows/loop_test.yaml`

func (p *program) testCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "test",
		Usage:       "run the YAML unit tests of flows (*_test.yaml)",
		ArgsUsage:   "[PATH...]",
		Description: testDescription,
		Flags: []ucli.Flag{
			formatFlag(flowtest.Formats()...),
			&ucli.StringFlag{Name: "run", Usage: "run only the cases whose name matches `REGEX`"},
			&ucli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "also list the cases that passed, and the output of those that failed", DisableDefaultText: true},
			&ucli.BoolFlag{Name: "update", Usage: "rewrite the expected values of failed equality expectations with what the flow produced", DisableDefaultText: true},
			denyFlag(),
			allowFlag(),
			rootFlag(),
			maxFileSizeFlag(),
		},
		Action: p.testAction,
	}
}

func (p *program) testAction(c *ucli.Context) error {
	format, err := checkFormat(c, flowtest.Formats()...)
	if err != nil {
		return err
	}
	if err := p.parseMaxFileSize(c, helpName(c)); err != nil {
		return err
	}
	if err := p.parsePolicy(c, helpName(c)); err != nil {
		return err
	}
	var run *regexp.Regexp
	if s := c.String("run"); s != "" {
		if run, err = regexp.Compile(s); err != nil {
			return usagef(helpName(c), "--run %q: %v", s, err)
		}
	}
	args := c.Args().Slice()
	if len(args) == 0 {
		args = []string{"."}
	}
	files, missing := testFiles(args)
	reg, err := p.allTypes()
	if err != nil {
		return err
	}
	runner, err := flowtest.New(flowtest.Options{Registry: reg, Run: run, Update: c.Bool("update"), Getenv: p.getenv,
		Root: c.String("root"), MaxFileSize: p.maxFileSize, Policy: p.policy})
	if err != nil {
		return err
	}
	// An argument that names no test file is reported like a test file
	// that cannot be read: in every format, and exit 2.
	results := make([]*flowtest.FileResult, 0, len(files)+len(missing))
	for _, m := range missing {
		results = append(results, &flowtest.FileResult{File: m.arg, IOError: m.err})
	}
	for _, f := range files {
		results = append(results, runner.RunFile(c.Context, f))
	}
	if st := p.styleFor(p.stdout); format == "text" && st.snippet {
		// On a terminal, each problem and failure shows its source line.
		diag := func(w io.Writer, fr *flowtest.FileResult, e *graph.Error) {
			writeDiagnostics(w, graph.ErrorList{e}, sources(fr.Sources), st)
		}
		err = flowtest.ReportText(p.stdout, results, c.Bool("verbose"), diag)
	} else {
		err = flowtest.Report(p.stdout, results, format, c.Bool("verbose"))
	}
	if err != nil {
		return err
	}
	code := flowtest.ExitCode(results)
	if code != ExitOK {
		return &reportedError{code: code, err: errors.New("tests failed")}
	}
	return nil
}

// A missingTest is an argument of "flowrun test" that names no test file.
type missingTest struct {
	arg string
	err error
}

// testFiles expands the arguments of "flowrun test" into test files:
// directories and globs give the *_test.yaml files they hold; a flow file
// gives its test file; any other file is taken as a test file.
func testFiles(args []string) ([]string, []missingTest) {
	var files []string
	seen := map[string]bool{}
	var errs []missingTest
	for _, arg := range args {
		info, statErr := os.Stat(arg)
		if statErr == nil && !info.IsDir() {
			f := arg
			if !isTestFile(arg) {
				ext := filepath.Ext(arg)
				f = strings.TrimSuffix(arg, ext) + "_test" + ext
				if _, err := os.Stat(f); err != nil {
					errs = append(errs, missingTest{arg, fmt.Errorf("no test file %s for this flow", f)})
					continue
				}
			}
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
			continue
		}
		var found []string
		var err error
		switch {
		case statErr == nil:
			found, err = walkFlows(arg)
		case isGlob(arg):
			found, err = glob(arg)
		default:
			err = statErr
			var pe *fs.PathError
			if errors.As(statErr, &pe) {
				err = pe.Err // the argument is already named
			}
		}
		if err != nil {
			errs = append(errs, missingTest{arg, err})
			continue
		}
		n := 0
		for _, f := range found {
			if isTestFile(f) && !seen[f] {
				n++
				seen[f] = true
				files = append(files, f)
			}
		}
		if n == 0 {
			errs = append(errs, missingTest{arg, errors.New("no test files (*_test.yaml)")})
		}
	}
	return files, errs
}

func isTestFile(name string) bool {
	return strings.HasSuffix(name, "_test.yaml") || strings.HasSuffix(name, "_test.yml")
}
