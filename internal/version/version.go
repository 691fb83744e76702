// Package version holds the build's version, stamped by the Makefile.
package version

import "runtime/debug"

// Version is set with -ldflags "-X github.com/aviary-rollouts/aviary/internal/version.Version=…".
var Version = ""

// String returns the stamped version, or the module version for `go install`
// builds, or "dev".
func String() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
