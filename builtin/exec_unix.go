//go:build unix

package builtin

import (
	"os/exec"
	"syscall"
)

// killProcessGroup starts the program in a process group of its own and
// makes cancellation kill the whole group, so that the program's children
// do not outlive the run; on Linux the program is also killed when
// flowrun dies (see startProgram).
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	deathSignal(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
