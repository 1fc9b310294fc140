//go:build !unix

package builtin

import "os/exec"

// killProcessGroup leaves exec.CommandContext's default, which kills the
// program only: process groups are a Unix notion.
func killProcessGroup(cmd *exec.Cmd) {}
