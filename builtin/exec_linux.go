//go:build linux

package builtin

import (
	"os/exec"
	"runtime"
	"syscall"
)

// deathSignal makes the kernel SIGKILL the program when the thread that
// started it ends, as it does when flowrun dies: a SIGKILLed worker
// leaves no program running on with side effects after its death (its
// runs go to other workers). Only the program itself is signalled, not
// the children it started.
func deathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// startProgram starts cmd from an OS thread kept for it until release is
// called (after Wait). The parent-death signal follows the thread that
// started the program, not the process (golang/go#27505), and the Go
// runtime ends a thread when a goroutine locked to it exits: were that
// the program's thread, the program would be killed early. Locked to
// this goroutine until the program is waited for, the thread runs
// nothing else meanwhile.
func startProgram(cmd *exec.Cmd) (release func(), err error) {
	started := make(chan error)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		started <- cmd.Start()
		<-done
	}()
	if err := <-started; err != nil {
		close(done)
		return nil, err
	}
	return func() { close(done) }, nil
}
