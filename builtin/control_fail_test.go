package builtin

import (
	"errors"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
)

func TestControlFail(t *testing.T) {
	n := nodetest.New(t, lookup(t, "control.fail"), nodetest.Setup{Params: map[string]any{"message": "Test error"}})
	res := n.Run(t, nodetest.In{})
	var fe *FailError
	if !errors.As(res.Err, &fe) || res.Err.Error() != "Test error" {
		t.Errorf("err = %v (%T), want a *FailError \"Test error\"", res.Err, res.Err)
	}
	res = n.Run(t, nodetest.In{Values: map[string]any{"x": 2, "when": false}})
	checkResult(t, res, 2, "")
	res = n.Run(t, nodetest.In{Values: map[string]any{"x": 3, "when": true}})
	checkResult(t, res, nil, "Test error")
	res = n.Run(t, nodetest.In{Values: map[string]any{"when": "yes"}})
	checkResult(t, res, nil, `input "when": want a boolean, got string "yes"`)

	res = nodetest.New(t, lookup(t, "control.fail"), nodetest.Setup{}).Run(t, nodetest.In{})
	checkResult(t, res, nil, "failed")
	wantParamError(t, buildErr(t, "control.fail", nodetest.Setup{Params: map[string]any{"message": 1}}), "message", "want a string")
}
