package builtin

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestTermPrint(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		in     []any
		want   string
	}{
		{"tokens", nil, []any{"Hel", "lo", "!"}, "Hello!\n"},
		{"value", nil, []any{map[string]any{"a": 1}}, "{\"a\":1}\n"},
		{"sep and end", map[string]any{"sep": ", ", "end": "."}, []any{1, "two", nil}, "1, two, null."},
		{"empty stream", nil, nil, "\n"},
	}
	spec := lookup(t, "term.print")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout strings.Builder
			n := nodetest.New(t, spec, nodetest.Setup{Params: tt.params, Env: registry.Env{Stdout: &stdout}})
			res := n.Run(t, nodetest.In{Streams: chunks("s", tt.in...)})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := stdout.String(); got != tt.want {
				t.Errorf("printed %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTermPrintStreams checks that each chunk is written as it arrives.
func TestTermPrintStreams(t *testing.T) {
	var stdout syncBuffer
	in := make(chan any)
	done := make(chan *nodetest.Result)
	n := nodetest.New(t, lookup(t, "term.print"), nodetest.Setup{Env: registry.Env{Stdout: &stdout}})
	go func() { done <- n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{"s": nodetest.Chan(in)}}) }()
	in <- "a"
	in <- "b" // accepted once "a" was printed
	if got := stdout.String(); !strings.HasPrefix(got, "a") {
		t.Errorf("after two chunks were taken, stdout = %q, want the first printed", got)
	}
	close(in)
	res := <-done
	if res.Err != nil || res.Out() != "ab" || stdout.String() != "ab\n" {
		t.Errorf("err = %v, out = %q, stdout = %q", res.Err, res.Out(), stdout.String())
	}
}

func TestTermPrintErrors(t *testing.T) {
	boom := errors.New("broken pipe")
	n := nodetest.New(t, lookup(t, "term.print"), nodetest.Setup{Env: registry.Env{Stdout: failWriter{boom}}})
	res := n.Run(t, nodetest.In{Streams: chunks("s", "x", "y")})
	if !errors.Is(res.Err, boom) || !res.Cancelled["s"] {
		t.Errorf("err = %v, cancelled = %v; want the write error and the input cancelled", res.Err, res.Cancelled["s"])
	}
	wantParamError(t, buildErr(t, "term.print", nodetest.Setup{Params: map[string]any{"end": false}}), "end", "want a string")
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestTermPrintReportErrors checks report_errors: a failed stream ends
// its line, is one "error: " line on stderr, and the run succeeds; each
// stream is counted in the answer tally, and the usage of a complete one
// is one line on stderr. Without report_errors the failure is the run's.
func TestTermPrintReportErrors(t *testing.T) {
	var stdout, stderr strings.Builder
	answers := new(registry.AnswerTally)
	env := registry.Env{Stdout: &stdout, Stderr: &stderr, Answers: answers}
	n := nodetest.New(t, lookup(t, "term.print"), nodetest.Setup{Params: map[string]any{"report_errors": true}, Env: env})
	usage := map[string]any{"prompt_tokens": 17, "completion_tokens": 128}
	res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"s":     nodetest.Chunks("Hi", " there"),
		"usage": nodetest.Chunks(usage),
	}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"s": nodetest.Chunks("Half").Fail(errors.New("no server answers at http://x\nstart it")),
	}})
	if res.Err != nil {
		t.Errorf("a failed stream with report_errors: err = %v, want nil", res.Err)
	}
	if want := "Hi there\nHalf\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	if want := "[17 prompt + 128 completion tokens]\nerror: no server answers at http://x start it\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	if err := answers.Err(); err == nil || err.Error() != "1 of 2 answers failed" {
		t.Errorf("answer tally: %v, want 1 of 2 answers failed", err)
	}

	plain := nodetest.New(t, lookup(t, "term.print"), nodetest.Setup{Env: registry.Env{Stdout: &stdout, Stderr: &stderr}})
	boom := errors.New("boom")
	if res := plain.Run(t, nodetest.In{Streams: chunks("s")}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := plain.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{"s": nodetest.Chunks().Fail(boom)}}); !errors.Is(res.Err, boom) {
		t.Errorf("without report_errors: err = %v, want the stream's failure", res.Err)
	}
}

// TestTermPrintCut marks a text whose finish_reason is "length": in a
// pipe with a note on stderr, in a terminal with a dimmed mark after the
// text (plain with NO_COLOR); out never holds the mark.
func TestTermPrintCut(t *testing.T) {
	usage := map[string]any{"prompt_tokens": 5, "completion_tokens": 8}
	cases := []struct {
		name             string
		env              registry.Env
		finish           []any
		wantOut, wantErr string
	}{
		{"pipe, cut", registry.Env{}, []any{"length"},
			"Once upon\n", "note: the answer was cut at max_tokens (finish_reason length)\n[5 prompt + 8 completion tokens]\n"},
		{"pipe, stop", registry.Env{}, []any{"stop"},
			"Once upon\n", "[5 prompt + 8 completion tokens]\n"},
		{"terminal, cut", registry.Env{Interactive: true}, []any{"length"},
			"Once upon\x1b[2m [cut at max_tokens]\x1b[0m\n", "[5 prompt + 8 completion tokens]\n"},
		{"terminal, NO_COLOR", registry.Env{Interactive: true, Getenv: func(k string) string {
			if k == "NO_COLOR" {
				return "1"
			}
			return ""
		}}, []any{"length"},
			"Once upon [cut at max_tokens]\n", "[5 prompt + 8 completion tokens]\n"},
		{"terminal, stop", registry.Env{Interactive: true}, []any{"stop"},
			"Once upon\n", "[5 prompt + 8 completion tokens]\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			env := c.env
			env.Stdout, env.Stderr = &stdout, &stderr
			n := nodetest.New(t, lookup(t, "term.print"), nodetest.Setup{Env: env})
			res := n.Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
				"s":             nodetest.Chunks("Once", " upon"),
				"usage":         nodetest.Chunks(usage),
				"finish_reason": nodetest.Chunks(c.finish...),
			}})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if stdout.String() != c.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), c.wantOut)
			}
			if stderr.String() != c.wantErr {
				t.Errorf("stderr = %q, want %q", stderr.String(), c.wantErr)
			}
			if got := res.Set["out"]; got != "Once upon" {
				t.Errorf("out = %q, want the text without the mark", got)
			}
		})
	}
}
