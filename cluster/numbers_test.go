package cluster_test

import (
	"fmt"
	"testing"
)

// TestNumbersKeepTheirGoTypeThroughWorkers: a whole float (4.0) and an
// integer (4) stay a float64 and an int on their way to a worker and
// back, in values, streamed chunks and saved state, as they do in one
// process.
func TestNumbersKeepTheirGoTypeThroughWorkers(t *testing.T) {
	url := server(t)
	startWorker(t, url, "w1", nil)
	res := runOnCluster(t, url, `version: 1
nodes:
  f: {type: math.mul, with: {x: 2.0, by: 2}, placement: worker}
  i: {type: math.mul, with: {x: 2, by: 2}, placement: worker}
  pass: {type: value.identity, inputs: {x: f}, placement: worker}
  list: {type: value.const, with: {value: [1.0, 2, {x: 3.0}]}, placement: worker}
  chunks: {type: stream.emit, inputs: {items: list}, placement: worker}
  got: {type: stream.collect, inputs: {s: chunks}, placement: local}
  total: {type: state.accumulator, inputs: {x: f}, placement: worker}
`)
	for _, c := range []struct {
		node string
		want string
	}{
		{"f", "float64(4)"},
		{"i", "int(4)"},
		{"pass", "float64(4)"},
		{"total", "float64(4)"},
	} {
		if got := fmt.Sprintf("%T(%v)", res.Final[c.node]["out"], res.Final[c.node]["out"]); got != c.want {
			t.Errorf("%s: %s, want %s", c.node, got, c.want)
		}
	}
	types := func(v any) string {
		l, _ := v.([]any)
		var s []string
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				e = m["x"]
			}
			s = append(s, fmt.Sprintf("%T", e))
		}
		return fmt.Sprint(s)
	}
	if got, want := types(res.Final["list"]["out"]), "[float64 int float64]"; got != want {
		t.Errorf("list element types %s, want %s", got, want)
	}
	if got, want := types(res.Final["got"]["out"]), "[float64 int float64]"; got != want {
		t.Errorf("streamed chunk types %s, want %s", got, want)
	}
}
