package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/flowcli"
	"github.com/rogpeppe/go-internal/txtar"
)

// The conformance suite runs cases of the execution model
// (docs/execution.md) as YAML flows through the CLI
// (`flowrun run --print-final json --events FILE`) and checks the result.
//
// A case is a txtar file in testdata/conformance: its comment says which
// case it is and what it checks; `-- flow.yaml --` (and any other file the
// flow uses) is the flow; `-- args --`, if present, holds extra run flags,
// one per line; `-- want --` holds one expectation per line:
//
//	exit N                       the exit code (default 0)
//	final NODE.OUTPUT JSON       the node's final value
//	absent NODE                  the node never completed a run
//	runs NODE N                  the node completed N runs
//	inputs NODE INPUT JSON       the input's value in each run, as a list
//	outputs NODE OUTPUT JSON     the output's final value after each run
//	chunks NODE OUTPUT JSON      every chunk the output emitted, in order
//	before EV EV                 event EV comes before EV in the log, where
//	                             EV is start:NODE:RUN or end:NODE:RUN
//	stderr REGEXP                stderr matches
//	stdout REGEXP                stdout matches (instead of final values)
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCase(t, file)
			for _, ev := range r.events {
				if w, ok := ev["worker"]; ok {
					t.Errorf("a local run's event names a worker (%v): %v", w, ev)
				}
			}
		})
	}
}

type caseRun struct {
	exit   int
	stdout string
	stderr string
	final  map[string]map[string]any
	events []map[string]any
}

// runCase runs the case in file with the extra run flags, checks its
// expectations and returns what the run did.
func runCase(t *testing.T, file string, extra ...string) *caseRun {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var want, args []string
	for _, f := range ar.Files {
		switch f.Name {
		case "want":
			want = lines(f.Data)
		case "args":
			args = lines(f.Data)
		default:
			path := filepath.Join(dir, f.Name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want == nil {
		t.Fatal("case has no -- want -- section")
	}
	events := filepath.Join(dir, "events.jsonl")
	argv := append([]string{"flowrun", "run", "--print-final", "json", "--events", events}, extra...)
	argv = append(argv, args...)
	argv = append(argv, filepath.Join(dir, "flow.yaml"))
	var stdout, stderr bytes.Buffer
	r := caseRun{exit: flowcli.Main(t.Context(), argv, nil, strings.NewReader(""), &stdout, &stderr)}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if r.exit == 0 || strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		_ = json.Unmarshal(stdout.Bytes(), &r.final)
	}
	if data, err := os.ReadFile(events); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("event %q: %v", sc.Text(), err)
			}
			r.events = append(r.events, ev)
		}
	}
	wantExit := 0
	for _, w := range want {
		if f := strings.Fields(w); len(f) == 2 && f[0] == "exit" {
			wantExit, _ = strconv.Atoi(f[1])
		}
	}
	if r.exit != wantExit {
		t.Fatalf("exit %d, want %d\nstderr:\n%s\nstdout:\n%s", r.exit, wantExit, r.stderr, r.stdout)
	}
	for _, w := range want {
		if err := r.check(w); err != nil {
			t.Errorf("%s: %v", w, err)
		}
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", r.stderr)
	}
	return &r
}

func lines(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// normal turns a JSON text into the value encoding/json decodes, so that
// numbers compare equal whatever their Go type was.
func normal(t string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(t), &v)
	return v, err
}

func (r *caseRun) check(line string) error {
	kind, rest, _ := strings.Cut(line, " ")
	arg, val, _ := strings.Cut(rest, " ")
	switch kind {
	case "exit":
		return nil
	case "stderr", "stdout":
		out := r.stderr
		if kind == "stdout" {
			out = r.stdout
		}
		if !regexp.MustCompile(rest).MatchString(out) {
			return fmt.Errorf("%s does not match", kind)
		}
		return nil
	case "final":
		node, output, _ := strings.Cut(arg, ".")
		got, ok := r.final[node][output]
		if !ok {
			return fmt.Errorf("no final value for %s (final: %v)", arg, r.final)
		}
		return same(got, val)
	case "absent":
		if r.final[arg] != nil {
			return fmt.Errorf("node ran: %v", r.final[arg])
		}
		return nil
	case "runs":
		n := 0
		for _, ev := range r.events {
			if ev["event"] == "end" && ev["node"] == arg {
				n++
			}
		}
		return same(n, val)
	case "inputs", "outputs", "chunks":
		name, list, _ := strings.Cut(val, " ")
		var got []any
		for _, ev := range r.events {
			if ev["node"] != arg {
				continue
			}
			switch {
			case kind == "inputs" && ev["event"] == "start":
				got = append(got, ev["inputs"].(map[string]any)[name])
			case kind == "outputs" && ev["event"] == "end":
				got = append(got, ev["outputs"].(map[string]any)[name])
			case kind == "chunks" && ev["event"] == "chunk" && ev["output"] == name:
				got = append(got, ev["value"])
			}
		}
		if got == nil {
			got = []any{}
		}
		return same(got, list)
	case "before":
		a, b := r.index(arg), r.index(val)
		if a < 0 || b < 0 || a > b {
			return fmt.Errorf("positions %d, %d", a, b)
		}
		return nil
	}
	return fmt.Errorf("unknown expectation %q", kind)
}

// index finds the event "start:NODE:RUN" or "end:NODE:RUN" in the log.
func (r *caseRun) index(spec string) int {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 {
		return -1
	}
	run, _ := strconv.Atoi(parts[2])
	for i, ev := range r.events {
		if ev["event"] == parts[0] && ev["node"] == parts[1] && ev["run"] == float64(run) {
			return i
		}
	}
	return -1
}

func same(got any, wantJSON string) error {
	want, err := normal(wantJSON)
	if err != nil {
		return fmt.Errorf("bad expected JSON %q: %v", wantJSON, err)
	}
	data, _ := json.Marshal(got)
	gotN, _ := normal(string(data))
	if !reflect.DeepEqual(gotN, want) {
		return fmt.Errorf("got %s", data)
	}
	return nil
}
