// Package version holds the build's version, commit and date, stamped by the
// Makefile (and by hack/release for images and release binaries) with
// -ldflags "-X …": see LDFlags.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Package is this package's import path, the prefix of every -X flag.
const Package = "github.com/aviary-rollouts/aviary/internal/version"

// Stamped at link time: -ldflags "-X github.com/aviary-rollouts/aviary/internal/version.Version=…"
// and likewise Commit and BuildDate.
var (
	Version   = ""
	Commit    = ""
	BuildDate = ""
)

// LDFlags returns the -X flags that stamp version, commit and date into a
// binary, in the form the Makefile's LDFLAGS uses.
func LDFlags(version, commit, date string) string {
	return fmt.Sprintf("-X %s.Version=%s -X %s.Commit=%s -X %s.BuildDate=%s",
		Package, version, Package, commit, Package, date)
}

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

// Info is everything a `version` command prints.
type Info struct {
	Version   string
	Commit    string
	BuildDate string
	GoVersion string
	Compiler  string
	Platform  string
}

// Get returns this binary's Info. An unstamped commit or date falls back to
// what the Go toolchain recorded (vcs.revision, vcs.time), else "unknown".
func Get() Info {
	i := Info{
		Version:   String(),
		Commit:    Commit,
		BuildDate: BuildDate,
		GoVersion: runtime.Version(),
		Compiler:  runtime.Compiler,
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && i.Commit == "":
				i.Commit = s.Value
			case s.Key == "vcs.time" && i.BuildDate == "":
				i.BuildDate = s.Value
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	if i.BuildDate == "" {
		i.BuildDate = "unknown"
	}
	return i
}

// Long is the multi-line `version` output of the named program: its version
// on the first line, then one indented "Key: value" line per field.
func (i Info) Long(program string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", program, i.Version)
	for _, kv := range [][2]string{
		{"BuildDate", i.BuildDate},
		{"GitCommit", i.Commit},
		{"GoVersion", i.GoVersion},
		{"Compiler", i.Compiler},
		{"Platform", i.Platform},
	} {
		fmt.Fprintf(&b, "  %s: %s\n", kv[0], kv[1])
	}
	return b.String()
}

// Short is the one-line `version --short` output of the named program.
func (i Info) Short(program string) string {
	return fmt.Sprintf("%s: %s\n", program, i.Version)
}
