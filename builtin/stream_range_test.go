package builtin

import (
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamRange(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		want    []any
		wantErr string
	}{
		{name: "0 to 5", values: map[string]any{"stop": 5}, want: []any{0, 1, 2, 3, 4}},
		{name: "start and step", values: map[string]any{"start": 100, "stop": 103}, want: []any{100, 101, 102}},
		{name: "down", values: map[string]any{"start": 3, "stop": 0, "step": -1}, want: []any{3, 2, 1}},
		{name: "floats", values: map[string]any{"start": 0, "stop": 0.35, "step": 0.1}, want: []any{0.0, 0.1, 0.2, 0.30000000000000004}},
		{name: "empty", values: map[string]any{"start": 5, "stop": 1}, want: nil},
		{name: "step 0", values: map[string]any{"stop": 1, "step": 0}, wantErr: `input "step": step must not be 0`},
		{name: "string stop", values: map[string]any{"stop": "5"}, wantErr: `input "stop": want a number`},
	}
	spec := lookup(t, "stream.range")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{Values: tt.values})
			if tt.wantErr != "" {
				checkResult(t, res, nil, tt.wantErr)
				return
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks = %v, want %v", got, tt.want)
			}
		})
	}
	res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{Values: map[string]any{"stop": 5}})
	if res.Out() != 10 {
		t.Errorf("final = %v, want the sum 10", res.Out())
	}
}
