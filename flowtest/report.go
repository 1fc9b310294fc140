package flowtest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowrun/flowrun/graph"
)

// Formats returns the output formats of [Report], the default first.
func Formats() []string { return []string{"text", "json", "junit", "github"} }

// Exit codes of a test run: [ExitCode] picks one.
const (
	ExitPassed  = 0
	ExitFailed  = 1
	ExitInvalid = 2
)

// ExitCode returns 2 when a test file or a flow it names is invalid (or
// could not be read), else 1 when a case failed, else 0.
func ExitCode(results []*FileResult) int {
	code := ExitPassed
	for _, fr := range results {
		switch {
		case len(fr.Errors) > 0 || fr.IOError != nil:
			return ExitInvalid
		case fr.Failed():
			code = ExitFailed
		}
	}
	return code
}

// Report writes the results in format (one of [Formats]) to w. With
// verbose, the text format also lists the cases that passed.
func Report(w io.Writer, results []*FileResult, format string, verbose bool) error {
	switch format {
	case "text":
		return reportText(w, results, verbose)
	case "json":
		return reportJSON(w, results)
	case "junit":
		return reportJUnit(w, results)
	case "github":
		return reportGitHub(w, results)
	}
	return fmt.Errorf("unknown format %q: use %s", format, strings.Join(Formats(), ", "))
}

// Counts returns the number of cases that passed and failed.
func Counts(results []*FileResult) (passed, failed, invalid int) {
	for _, fr := range results {
		if len(fr.Errors) > 0 || fr.IOError != nil {
			invalid++
		}
		for _, c := range fr.Cases {
			if c.Passed() {
				passed++
			} else {
				failed++
			}
		}
	}
	return passed, failed, invalid
}

func reportText(w io.Writer, results []*FileResult, verbose bool) error {
	return ReportText(w, results, verbose, nil)
}

// ReportText writes the results in the text format, like [Report]. Each
// located message (a problem in a file, a failed expectation) is written
// by diag, which a terminal's caller can make show the source line; nil
// writes "file:line:col: message" lines. A failure's diff follows its
// message.
func ReportText(w io.Writer, results []*FileResult, verbose bool, diag func(w io.Writer, fr *FileResult, e *graph.Error)) error {
	if diag == nil {
		diag = func(w io.Writer, _ *FileResult, e *graph.Error) { fmt.Fprintln(w, e.Error()) }
	}
	for _, fr := range results {
		if fr.IOError != nil {
			fmt.Fprintf(w, "%s: %v\n", fr.File, fr.IOError)
		}
		for _, e := range fr.Errors {
			diag(w, fr, e)
		}
		for _, c := range fr.Cases {
			if c.Passed() {
				if verbose {
					fmt.Fprintf(w, "ok   %s: case %q (%s)\n", c.Pos, c.Name, round(c.Duration))
				}
				continue
			}
			for _, f := range c.Failures {
				diag(w, fr, &graph.Error{Pos: f.Pos, Msg: f.Summary()})
				writeDiff(w, f.Diff)
			}
			if verbose {
				writeOutput(w, "stdout", c.Stdout)
				writeOutput(w, "stderr", c.Stderr)
			}
		}
		if fr.Updated > 0 {
			fmt.Fprintf(w, "%s: updated %d expected %s\n", fr.File, fr.Updated, plural(fr.Updated, "value", "values"))
		}
	}
	_, err := fmt.Fprintln(w, summary(results))
	return err
}

func writeDiff(w io.Writer, diff string) {
	if diff == "" {
		return
	}
	for _, line := range strings.Split(strings.TrimRight(diff, "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
}

func writeOutput(w io.Writer, name, s string) {
	if s == "" {
		return
	}
	fmt.Fprintf(w, "    %s:\n", name)
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(w, "    | %s\n", line)
	}
}

// summary is the last line of the text output.
func summary(results []*FileResult) string {
	passed, failed, invalid := Counts(results)
	verdict := "PASS"
	if failed > 0 || invalid > 0 {
		verdict = "FAIL"
	}
	s := fmt.Sprintf("%s: %d passed, %d failed in %d %s", verdict, passed, failed, len(results), plural(len(results), "file", "files"))
	if invalid > 0 {
		s += fmt.Sprintf(" (%d invalid)", invalid)
	}
	return s
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// The JSON format: one object per test file.
type jsonFile struct {
	File    string      `json:"file"`
	Errors  []jsonError `json:"errors"`
	Cases   []jsonCase  `json:"cases"`
	Updated int         `json:"updated,omitempty"`
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

type jsonCase struct {
	Name       string        `json:"name"`
	File       string        `json:"file"`
	Line       int           `json:"line"`
	Col        int           `json:"col"`
	Passed     bool          `json:"passed"`
	DurationMS float64       `json:"duration_ms"`
	Failures   []jsonFailure `json:"failures"`
	Stdout     string        `json:"stdout"`
	Stderr     string        `json:"stderr"`
}

type jsonFailure struct {
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	What     string `json:"what"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Diff     string `json:"diff,omitempty"`
	Message  string `json:"message"`
}

func reportJSON(w io.Writer, results []*FileResult) error {
	out := make([]jsonFile, 0, len(results))
	for _, fr := range results {
		jf := jsonFile{File: fr.File, Errors: []jsonError{}, Cases: []jsonCase{}, Updated: fr.Updated}
		if fr.IOError != nil {
			jf.Errors = append(jf.Errors, jsonError{File: fr.File, Message: fr.IOError.Error()})
		}
		for _, e := range fr.Errors {
			jf.Errors = append(jf.Errors, jsonError{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg})
		}
		for _, c := range fr.Cases {
			jc := jsonCase{Name: c.Name, File: c.Pos.File, Line: c.Pos.Line, Col: c.Pos.Col, Passed: c.Passed(),
				DurationMS: float64(c.Duration.Microseconds()) / 1000, Failures: []jsonFailure{}, Stdout: c.Stdout, Stderr: c.Stderr}
			for _, f := range c.Failures {
				jc.Failures = append(jc.Failures, jsonFailure{Line: f.Pos.Line, Col: f.Pos.Col, What: f.What,
					Expected: f.Expected, Got: f.Got, Diff: f.Diff, Message: f.Error()})
			}
			jf.Cases = append(jf.Cases, jc)
		}
		out = append(out, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// The JUnit XML format, as Jenkins, GitLab and most CI systems read it:
// one testsuite per test file, one testcase per case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
	SystemErr *junitText    `xml:"system-err,omitempty"`
}

// junitText is an element's text as CDATA, so that multi-line output
// stays readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

func cdata(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: s}
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

func reportJUnit(w io.Writer, results []*FileResult) error {
	all := junitSuites{}
	for _, fr := range results {
		s := junitSuite{Name: fr.File}
		var total time.Duration
		if fr.IOError != nil || len(fr.Errors) > 0 {
			var text []string
			if fr.IOError != nil {
				text = append(text, fr.IOError.Error())
			}
			for _, e := range fr.Errors {
				text = append(text, e.Error())
			}
			s.Errors++
			s.Cases = append(s.Cases, junitCase{Name: "(test file)", Classname: fr.File, File: fr.File, Time: "0.000",
				Error: &junitMessage{Message: "invalid test file or flow", Type: "invalid", Text: strings.Join(text, "\n")}})
		}
		for _, c := range fr.Cases {
			total += c.Duration
			jc := junitCase{Name: c.Name, Classname: fr.File, File: c.Pos.File, Line: c.Pos.Line,
				Time: fmt.Sprintf("%.3f", c.Duration.Seconds())}
			if !c.Passed() {
				s.Failures++
				msgs := make([]string, len(c.Failures))
				for i, f := range c.Failures {
					msgs[i] = f.Error()
				}
				jc.Failure = &junitMessage{Message: c.Failures[0].Summary(), Type: "assertion", Text: strings.Join(msgs, "\n")}
				jc.SystemOut, jc.SystemErr = cdata(c.Stdout), cdata(c.Stderr)
			}
			s.Cases = append(s.Cases, jc)
		}
		s.Tests = len(s.Cases)
		s.Time = fmt.Sprintf("%.3f", total.Seconds())
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// reportGitHub writes GitHub Actions workflow commands: an error
// annotation at each failed expectation and each problem in a test file.
func reportGitHub(w io.Writer, results []*FileResult) error {
	for _, fr := range results {
		if fr.IOError != nil {
			fmt.Fprintf(w, "::error file=%s::%s\n", escapeProperty(fr.File), escapeData(fr.IOError.Error()))
		}
		for _, e := range fr.Errors {
			annotate(w, e.Pos.File, e.Pos.Line, e.Pos.Col, "flowrun test", e.Msg)
		}
		for _, c := range fr.Cases {
			for _, f := range c.Failures {
				msg := f.Summary()
				if f.Diff != "" {
					msg += "\n" + f.Diff
				}
				annotate(w, f.Pos.File, f.Pos.Line, f.Pos.Col, "case "+c.Name, msg)
			}
		}
	}
	_, err := fmt.Fprintln(w, summary(results))
	return err
}

func annotate(w io.Writer, file string, line, col int, title, msg string) {
	props := []string{"file=" + escapeProperty(file)}
	if line > 0 {
		props = append(props, fmt.Sprintf("line=%d", line))
	}
	if col > 0 {
		props = append(props, fmt.Sprintf("col=%d", col))
	}
	props = append(props, "title="+escapeProperty(title))
	fmt.Fprintf(w, "::error %s::%s\n", strings.Join(props, ","), escapeData(msg))
}

// escapeData and escapeProperty follow the escaping of the GitHub Actions
// toolkit (@actions/core command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
