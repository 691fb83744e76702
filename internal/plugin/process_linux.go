package plugin

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the plugin if the controller dies
// without stopping it (SIGKILL, OOM kill): no plugin outlives its host.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
