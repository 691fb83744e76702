//go:build !linux

package plugin

import "os/exec"

// dieWithParent has no portable equivalent off Linux: a plugin is killed by
// Host.Stop, not when the controller is killed.
func dieWithParent(*exec.Cmd) {}
