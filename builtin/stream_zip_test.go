package builtin

import (
	"errors"
	"reflect"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestStreamZip(t *testing.T) {
	tests := []struct {
		name          string
		a, b          []any
		want          []any
		wantCancelled string
	}{
		{"equal", []any{0, 1}, []any{100, 101}, []any{[]any{0, 100}, []any{1, 101}}, ""},
		{"a shorter", []any{0}, []any{100, 101, 102}, []any{[]any{0, 100}}, "b"},
		{"b shorter", []any{0, 1, 2}, []any{"x"}, []any{[]any{0, "x"}}, "a"},
		{"empty", nil, []any{1}, nil, "b"},
	}
	spec := lookup(t, "stream.zip")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
				"a": nodetest.Chunks(tt.a...), "b": nodetest.Chunks(tt.b...),
			}})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks = %v, want %v", got, tt.want)
			}
			final := tt.want
			if final == nil {
				final = []any{}
			}
			if got := res.Out(); !reflect.DeepEqual(got, final) {
				t.Errorf("final = %v, want the pairs %v", got, final)
			}
			for _, in := range []string{"a", "b"} {
				if res.Cancelled[in] != (in == tt.wantCancelled) {
					t.Errorf("input %s cancelled = %v", in, res.Cancelled[in])
				}
			}
		})
	}
}

func TestStreamZipErrors(t *testing.T) {
	boom := errors.New("boom")
	res := nodetest.New(t, lookup(t, "stream.zip"), nodetest.Setup{}).Run(t, nodetest.In{Streams: map[string]*nodetest.Source{
		"a": nodetest.Chunks(1, 2), "b": nodetest.Chunks(1).Fail(boom),
	}})
	if !errors.Is(res.Err, boom) || !res.Cancelled["a"] {
		t.Errorf("err = %v, a cancelled = %v; want boom and a cancelled", res.Err, res.Cancelled["a"])
	}
	res = nodetest.New(t, lookup(t, "stream.zip"), nodetest.Setup{}).Run(t, nodetest.In{
		Streams:     map[string]*nodetest.Source{"a": nodetest.Chunks(1, 2), "b": nodetest.Chunks(1, 2)},
		CancelAfter: 1,
	})
	if res.Err == nil || !res.Cancelled["a"] || !res.Cancelled["b"] {
		t.Errorf("cancelled run: err = %v, cancelled = %v; want both inputs cancelled", res.Err, res.Cancelled)
	}
}
