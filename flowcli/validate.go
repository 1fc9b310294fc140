package flowcli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/graph"
)

const validateDescription = `Checks flow files without running them: YAML syntax, the JSON Schema,
node types, inputs and outputs, bindings and cycles that cannot start.

FLOW may be a file, a directory (every *.yaml and *.yml below it, skipping
directories named .* and node_modules) or a glob, quoted or not ("**"
matches any number of directories). Files found through a directory or a
glob are skipped when their first line is "# flowrun: ignore", and so are
test files (*_test.yaml, which "flowrun test" runs); a file named
on the command line is always checked.

The problems are the command's output and go to stdout, one per line as
file:line:col: message (text; with the source line and a ^ marker on a
terminal), as a JSON array of {"file", "line", "col", "message"} (json; col
0 means the column is unknown), or as GitHub Actions annotations (github).
A summary and I/O errors go to stderr.

Exit status: 0 all valid, 2 some flow invalid, 1 a file could not be read
or an argument matched no file (this wins over 2).

Examples:
   flowrun validate flows/chatbot.yaml
   flowrun validate flows/
   flowrun validate 'flows/**/*.yaml'
   flowrun validate --format json flows/ | jq '.[].message'
   flowrun validate --format github flows/      # in GitHub Actions`

func (p *program) validateCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "validate",
		Aliases:     []string{"lint"},
		Usage:       "check flow files without running them",
		ArgsUsage:   "FLOW...",
		Description: validateDescription,
		Flags: []ucli.Flag{
			formatFlag("text", "json", "github"),
			&ucli.BoolFlag{Name: "verbose", Usage: "also print \"FILE: ok\" for every valid file (text format)", DisableDefaultText: true},
			denyFlag(),
			allowFlag(),
			rootFlag(),
			maxFileSizeFlag(),
		},
		Action: p.validateAction,
	}
}

// A problem is one line of validate's JSON output.
type problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func (p *program) validateAction(c *ucli.Context) error {
	// The problems are diagnostics: they never show a secret.
	out := p.secrets.Writer(p.stdout)
	defer out.Flush()
	p.stdout = out
	format, err := checkFormat(c, "text", "json", "github")
	if err != nil {
		return err
	}
	if c.NArg() == 0 {
		return usagef(helpName(c), "want at least one flow file, directory or glob")
	}
	if err := p.parsePolicy(c, helpName(c)); err != nil {
		return err
	}
	p.root = c.String("root")
	if err := p.parseMaxFileSize(c, helpName(c)); err != nil {
		return err
	}
	files, ioErr := flowFiles(c.Args().Slice())
	if ioErr != nil {
		fmt.Fprintf(p.stderr, "flowrun: %v\n", ioErr)
	}
	reg, err := p.newRegistry()
	if err != nil {
		return err
	}
	var (
		all     graph.ErrorList
		srcs    = sources{}
		invalid int
		ioErrs  []error
	)
	if ioErr != nil {
		ioErrs = append(ioErrs, ioErr)
	}
	st := p.styleFor(p.stdout)
	for _, file := range files {
		var list graph.ErrorList
		src, err := p.readFlow(file)
		if err != nil && !errors.As(err, &list) {
			fmt.Fprintf(p.stderr, "flowrun: %v\n", err)
			ioErrs = append(ioErrs, err)
			continue
		}
		srcs.put(file, src)
		if err == nil {
			read, rerr := p.subflowReader(helpName(c), file, srcs)
			if rerr != nil {
				return rerr
			}
			_, err = graph.Load(file, src, reg, graph.Options{Getenv: p.getenv, ReadFile: read, MaxFileSize: p.maxFileSize})
		}
		switch {
		case errors.As(err, &list):
			invalid++
			all = append(all, list...)
			if format == "text" {
				writeDiagnostics(p.stdout, list, srcs, st)
			}
		case err != nil:
			// Not a problem in the file: the loader could not do its job.
			fmt.Fprintf(p.stderr, "flowrun: %s: %v\n", file, err)
			ioErrs = append(ioErrs, err)
		case format == "text" && c.Bool("verbose"):
			fmt.Fprintf(p.stdout, "%s: ok\n", file)
		}
	}
	switch format {
	case "json":
		problems := make([]problem, 0, len(all))
		for _, e := range all {
			problems = append(problems, problem{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg})
		}
		if err := writeJSON(p.stdout, problems); err != nil {
			return err
		}
	case "github":
		writeAnnotations(p.stdout, all)
	}
	if invalid > 0 {
		fmt.Fprintf(p.stderr, "flowrun: %d %s in %d of %d %s\n",
			len(all), plural(len(all), "problem", "problems"), invalid, len(files), plural(len(files), "file", "files"))
	}
	switch {
	case len(ioErrs) > 0:
		return &reportedError{code: ExitFailure, err: errors.Join(ioErrs...)}
	case invalid > 0:
		return &reportedError{code: ExitUsage, err: all}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writeAnnotations writes GitHub Actions workflow commands, which GitHub
// shows as annotations on the files of a pull request.
func writeAnnotations(w io.Writer, list graph.ErrorList) {
	for _, e := range list {
		props := []string{"file=" + escapeProperty(e.Pos.File)}
		if e.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", e.Pos.Line))
		}
		if e.Pos.Col > 0 {
			props = append(props, fmt.Sprintf("col=%d", e.Pos.Col))
		}
		fmt.Fprintf(w, "::error %s::%s\n", strings.Join(props, ","), escapeData(e.Msg))
	}
}

// escapeData and escapeProperty follow the escaping of the GitHub Actions
// toolkit (@actions/core command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
