package builtin

import (
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestValueSwap(t *testing.T) {
	n := nodetest.New(t, lookup(t, "value.swap"), nodetest.Setup{})
	res := n.Run(t, nodetest.In{Values: map[string]any{"a": 42, "b": "x"}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Final["first"] != "x" || res.Final["second"] != 42 {
		t.Errorf("first, second = %v, %v, want x, 42", res.Final["first"], res.Final["second"])
	}
}
