package plugin

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the plugin if the controller dies
// without stopping it (SIGKILL, OOM kill): no plugin outlives its host.
// The signal follows the OS thread that started the plugin; Go only ends a
// thread a goroutine locked and left locked, which nothing here does.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
