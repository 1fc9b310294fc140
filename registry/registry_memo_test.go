package registry

import (
	"testing"

	"github.com/flowrun/flowrun/internal/regmemo"
)

type memoKey struct{}

func TestMemoRebuildsAfterRegister(t *testing.T) {
	r := New()
	builds := 0
	build := func() (any, error) {
		builds++
		return len(r.Types()), nil
	}
	for range 3 {
		if v, err := regmemo.Memo(r, memoKey{}, build); err != nil || v != 0 {
			t.Fatalf("Memo = %v, %v", v, err)
		}
	}
	if builds != 1 {
		t.Errorf("built %d times, want once", builds)
	}
	r.MustRegister(Spec{Type: "a.b", Outputs: []Output{{Name: "out"}},
		New: func(Config, Env) (Node, error) { return nil, nil }})
	if v, _ := regmemo.Memo(r, memoKey{}, build); v != 1 || builds != 2 {
		t.Errorf("after Register: Memo = %v after %d builds, want 1 after 2", v, builds)
	}
}
