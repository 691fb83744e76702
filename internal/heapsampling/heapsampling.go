// Package heapsampling keeps the Go runtime from sampling heap
// allocations in a controller nobody can ask for a heap profile.
//
// By default the runtime records the call stack of one allocation in every
// 512 KiB, for the heap profile, for the life of the process. Each record
// unwinds the stack (reading the binary's pcln tables for every frame, so
// those pages become resident), hashes it into a 1.4 MB table touched at
// random, and keeps a bucket per distinct stack that is never freed. In a
// bench/scale wave at N=200 that was several MiB of the controller's peak
// resident set (docs/architecture.md, "Memory"); the profile is only ever
// read through --enable-pprof-address.
//
// Importing the package turns sampling off during package initialisation
// (the runtime says to set the rate as early as possible); Enable turns it
// back on. A rate the user gave in GODEBUG (memprofilerate=N) is left alone
// either way.
package heapsampling

import (
	"os"
	"runtime"
	"strings"
)

// DefaultRate is the Go runtime's own MemProfileRate: one sample per
// 512 KiB allocated on average.
const DefaultRate = 512 * 1024

// fromGODEBUG is set when the environment gave the rate, which the runtime
// has applied before any package initialisation.
var fromGODEBUG = setsRate(os.Getenv("GODEBUG"))

func init() {
	if !fromGODEBUG {
		runtime.MemProfileRate = 0
	}
}

// Enable samples allocations again at the runtime's default rate, for a
// process that serves its heap profile; the profile then covers what was
// allocated from here on. It reports the rate now in force.
func Enable() int {
	if !fromGODEBUG {
		runtime.MemProfileRate = DefaultRate
	}
	return runtime.MemProfileRate
}

// FromGODEBUG reports whether the environment set the rate, in which case
// neither the package's initialisation nor Enable changed it.
func FromGODEBUG() bool { return fromGODEBUG }

// setsRate reports whether a GODEBUG value sets memprofilerate (its
// settings are comma-separated key=value pairs; the last one given wins,
// but any one means the user chose).
func setsRate(godebug string) bool {
	for setting := range strings.SplitSeq(godebug, ",") {
		if key, _, ok := strings.Cut(strings.TrimSpace(setting), "="); ok && key == "memprofilerate" {
			return true
		}
	}
	return false
}
