package builtin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// execEnv gives programs this process's PATH and a few variables.
func execEnv() registry.Env {
	vars := map[string]string{"PATH": os.Getenv("PATH"), "SECRET": "s3cret", "HOME": "/nowhere"}
	return registry.Env{Getenv: func(k string) string { return vars[k] }}
}

func sh(script string) []any { return []any{"sh", "-c", script, "sh"} }

func TestExec(t *testing.T) {
	tests := []struct {
		name       string
		params     map[string]any
		variadic   []string
		values     map[string]any
		wantChunks []any
		want       any
	}{
		{
			name:       "lines stream",
			params:     map[string]any{"command": sh(`echo one; echo two`), "stdin": "none"},
			wantChunks: []any{"one\n", "two\n"},
			want:       "one\ntwo\n",
		},
		{
			name:   "lines output",
			params: map[string]any{"command": sh(`printf 'a\nb'`), "output": "lines", "stdin": "none"},
			want:   []any{"a", "b"},
		},
		{
			name:     "python reads JSON inputs, writes JSON",
			params:   map[string]any{"command": []any{"python3", "-c", "import json,sys; d=json.load(sys.stdin); print(json.dumps({'sum': d['a'] + d['b']}))"}, "output": "json"},
			variadic: []string{"a", "b"},
			values:   map[string]any{"a": 40, "b": 2},
			want:     map[string]any{"sum": 42},
		},
		{
			name:   "args appended",
			params: map[string]any{"command": sh(`echo "$@"`), "stdin": "none"},
			values: map[string]any{"args": []any{"x", 1, []any{true}}},
			want:   "x 1 [true]\n",
		},
		{
			name: "environment",
			params: map[string]any{"command": sh(`echo "$SECRET|$HOME|$MODE|$OTHER"`), "stdin": "none",
				"pass_env": []any{"SECRET"}, "env": map[string]any{"MODE": "test"}},
			want: "s3cret|/nowhere|test|\n",
		},
		{
			name:   "no shell: an argument with shell syntax is one literal argument",
			params: map[string]any{"command": []any{"printf", "%s|"}, "stdin": "none"},
			values: map[string]any{"args": []any{"$(echo injected); echo `id` > x", "$SECRET", "a b"}},
			want:   "$(echo injected); echo `id` > x|$SECRET|a b|",
		},
		{
			name:   "empty stdin object",
			params: map[string]any{"command": []any{"cat"}},
			want:   "{}\n",
		},
	}
	spec := lookup(t, "exec")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: tt.params, Variadic: tt.variadic, Env: execEnv()})
			res := n.Run(t, nodetest.In{Values: tt.values})
			checkResult(t, res, tt.want, "")
			if tt.wantChunks != nil && !reflect.DeepEqual(res.Chunks["out"], tt.wantChunks) {
				t.Errorf("chunks = %q, want %q", res.Chunks["out"], tt.wantChunks)
			}
		})
	}
}

func TestExecRelativeProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.sh"), []byte("#!/bin/sh\necho hello from $(basename \"$PWD\")\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := nodetest.New(t, lookup(t, "exec"), nodetest.Setup{Dir: dir, Env: execEnv(), Params: map[string]any{"command": []any{"./hello.sh"}}})
	checkResult(t, n.Run(t, nodetest.In{}), "hello from "+filepath.Base(dir)+"\n", "")
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]any
		wantErr string
	}{
		{"exit status", map[string]any{"command": sh(`echo bad input >&2; exit 3`)}, "program \"sh\" exited with status 3; stderr:\nbad input"},
		{"stderr tail", map[string]any{"command": sh(`for i in $(seq 1 25); do echo line $i >&2; done; exit 1`)}, "stderr:\nline 6\nline 7"},
		{"not found", map[string]any{"command": []any{"no-such-program-xyz"}}, `program "no-such-program-xyz" not found in PATH`},
		{"not executable", map[string]any{"command": []any{"./exec_test.go"}}, `cannot start program "./exec_test.go": permission denied`},
		{"bad JSON output", map[string]any{"command": sh(`echo nope`), "output": "json"}, "output: invalid JSON at byte 2"},
		{"timeout", map[string]any{"command": sh(`sleep 10`), "timeout": "100ms"}, `program "sh": program timed out after 100ms`},
	}
	spec := lookup(t, "exec")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := os.Getwd()
			n := nodetest.New(t, spec, nodetest.Setup{Dir: dir, Params: tt.params, Env: execEnv()})
			res := n.Run(t, nodetest.In{})
			checkResult(t, res, nil, tt.wantErr)
			if tt.name == "stderr tail" && strings.Contains(res.Err.Error(), "line 5\n") {
				t.Errorf("err = %v, want only the last 20 lines", res.Err)
			}
		})
	}
}

// TestExecCancel checks that a consumer's cancellation kills the program:
// the run ends long before the program would.
func TestExecCancel(t *testing.T) {
	n := nodetest.New(t, lookup(t, "exec"), nodetest.Setup{Env: execEnv(), Params: map[string]any{
		"command": sh(`echo first; sleep 30; echo never`), "stdin": "none",
	}})
	start := time.Now()
	res := n.Run(t, nodetest.In{CancelAfter: 1})
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("err = %v, want ErrCancelled", res.Err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("run took %v: the program was not killed", elapsed)
	}
	if got := res.Chunks["out"]; !reflect.DeepEqual(got, []any{"first\n"}) {
		t.Errorf("chunks = %q", got)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res = n.RunContext(ctx, t, nodetest.In{})
	if !errors.Is(res.Err, registry.ErrCancelled) {
		t.Errorf("cancelled context: err = %v, want ErrCancelled", res.Err)
	}
}

func TestExecParams(t *testing.T) {
	tests := []struct {
		params map[string]any
		param  string
		want   string
	}{
		{map[string]any{"command": []any{}}, "command", "want a list of strings"},
		{map[string]any{"command": "ls -l"}, "command", `got string "ls -l"`},
		{map[string]any{"command": []any{"ls", 1}}, "command", "element 1: want a string, got number 1"},
		{map[string]any{"command": []any{"ls"}, "stdin": "args"}, "stdin", "want one of json, none"},
		{map[string]any{"command": []any{"ls"}, "output": "xml"}, "output", "want one of text, lines, json"},
		{map[string]any{"command": []any{"ls"}, "timeout": "forever"}, "timeout", "invalid duration"},
		{map[string]any{"command": []any{"ls"}, "env": map[string]any{"A": 1}}, "env", `variable "A"`},
		{map[string]any{"command": []any{"ls"}, "pass_env": []any{""}}, "pass_env", "element 0: want a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.param+" "+tt.want, func(t *testing.T) {
			wantParamError(t, buildErr(t, "exec", nodetest.Setup{Params: tt.params}), tt.param, tt.want)
		})
	}
}

// TestExecEnvironmentFiltered: a variable of flowrun's own environment
// that is neither a base variable nor in pass_env does not reach the
// program, though the node reads the real environment.
func TestExecEnvironmentFiltered(t *testing.T) {
	t.Setenv("FLOWRUN_TEST_API_KEY", "sk-process-secret")
	spec := lookup(t, "exec")
	env := registry.Env{Getenv: os.Getenv}
	for _, tc := range []struct {
		passEnv []any
		want    string
	}{
		{nil, "[]|" + os.Getenv("HOME") + "\n"},
		{[]any{"FLOWRUN_TEST_API_KEY"}, "[sk-process-secret]|" + os.Getenv("HOME") + "\n"},
	} {
		n := nodetest.New(t, spec, nodetest.Setup{Env: env, Params: map[string]any{
			"command": sh(`echo "[$FLOWRUN_TEST_API_KEY]|$HOME"`), "stdin": "none", "pass_env": tc.passEnv}})
		checkResult(t, n.Run(t, nodetest.In{}), tc.want, "")
	}
}
