package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that calls Missing in a child process, with and
// without FLOWRUN_TEST_ALL=1: it is skipped without, and fails with the
// message and the variable's name with.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Missing(t, "the %s program is missing", "widget")
		t.Error("Missing returned")
		return
	}
	for _, tt := range []struct {
		all      string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestMissing"},
		{"0", false, "--- SKIP: TestMissing"},
		{"1", true, "--- FAIL: TestMissing"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", AllVar+"="+tt.all)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.wantFail {
			t.Errorf("%s=%q: child failed=%v, want %v\n%s", AllVar, tt.all, failed, tt.wantFail, out)
		}
		if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "the widget program is missing") {
			t.Errorf("%s=%q: output lacks %q and the message:\n%s", AllVar, tt.all, tt.want, out)
		}
		if tt.wantFail && !strings.Contains(string(out), AllVar+"=1") {
			t.Errorf("the failure does not name %s:\n%s", AllVar, out)
		}
	}
}
