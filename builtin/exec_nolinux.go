//go:build !linux

package builtin

import (
	"os/exec"
	"syscall"
)

// deathSignal does nothing: a parent-death signal is a Linux feature, so
// elsewhere a program outlives a flowrun that is killed (SIGKILL).
func deathSignal(*syscall.SysProcAttr) {}

// startProgram starts cmd; release does nothing.
func startProgram(cmd *exec.Cmd) (release func(), err error) {
	return func() {}, cmd.Start()
}
