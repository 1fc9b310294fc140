package builtin

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// lookup returns the declaration of a built-in type, from a fresh registry.
func lookup(t testing.TB, typ string) *registry.Spec {
	t.Helper()
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	spec, ok := reg.Lookup(typ)
	if !ok {
		t.Fatalf("type %q is not registered", typ)
	}
	return spec
}

// A valueCase is one run of a freshly built node on value inputs.
type valueCase struct {
	name    string
	params  map[string]any // constants, as under with:
	values  map[string]any // connected value inputs
	want    any            // final value of the first output
	wantErr string         // when not empty, a substring of the run's error
}

// runValueCases runs each case as a subtest against type typ.
func runValueCases(t *testing.T, typ string, cases []valueCase) {
	t.Helper()
	spec := lookup(t, typ)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.New(t, spec, nodetest.Setup{Params: tc.params})
			res := n.Run(t, nodetest.In{Values: tc.values})
			checkResult(t, res, tc.want, tc.wantErr)
		})
	}
}

// checkResult compares a run's error and first output with the wanted ones.
func checkResult(t *testing.T, res *nodetest.Result, want any, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if res.Err == nil || !strings.Contains(res.Err.Error(), wantErr) {
			t.Fatalf("err = %v, want one containing %q", res.Err, wantErr)
		}
		return
	}
	if res.Err != nil {
		t.Fatalf("err = %v", res.Err)
	}
	if got := res.Out(); !reflect.DeepEqual(got, want) {
		t.Errorf("out = %#v, want %#v", got, want)
	}
}

// buildErr builds a node of type typ with params and returns the error.
func buildErr(t *testing.T, typ string, setup nodetest.Setup) error {
	t.Helper()
	_, err := nodetest.Build(lookup(t, typ), setup)
	return err
}

// wantParamError checks that err is a *registry.ParamError for param whose
// message contains substr.
func wantParamError(t *testing.T, err error, param, substr string) {
	t.Helper()
	pe, ok := err.(*registry.ParamError)
	if !ok {
		t.Fatalf("err = %v (%T), want a *registry.ParamError", err, err)
	}
	if pe.Param != param || !strings.Contains(pe.Err.Error(), substr) {
		t.Errorf("err = %v, want parameter %q and a message containing %q", err, param, substr)
	}
}

// chunks returns the stream inputs map for one stream input.
func chunks(name string, cs ...any) map[string]*nodetest.Source {
	return map[string]*nodetest.Source{name: nodetest.Chunks(cs...)}
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
