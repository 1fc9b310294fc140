// Package testenv lets a test say that something it needs from outside Go
// (a program, an installed package, a model file) is missing. Under
// "go test" such a test is skipped; under "make test", which installs
// everything first (scripts/test-deps.sh) and sets FLOWRUN_TEST_ALL=1, it
// fails, so that the whole suite never passes by silently skipping.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// AllVar is the environment variable that turns Missing's skip into a
// failure when it is "1".
const AllVar = "FLOWRUN_TEST_ALL"

// Missing stops the test because something it needs is missing, described
// by format and args (name it, and say how to get it): it skips the test,
// or fails it when the environment variable AllVar is "1".
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(AllVar) == "1" {
		t.Fatalf("%s (%s=1: every test must run; scripts/test-deps.sh installs what they need)", msg, AllVar)
	}
	t.Skip(msg)
}
