package manager

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's target (GOGC) unless
// --gc-percent or GOGC says otherwise: the heap may grow by half of what
// was live at the last collection before the next one, where Go's default
// lets it double. The controller's live heap is mostly its caches, which
// change slowly, while a wave's reconciles leave short-lived garbage; at
// Go's default that garbage, not the caches, set the peak resident set. 50
// took a third off the heap's share of the peak in bench/scale for a few
// percent more CPU in the collector (docs/architecture.md, "Memory").
const DefaultGCPercent = 50

// gcPercentFlag is --gc-percent's name, which Argo Rollouts' controller
// does not have.
const gcPercentFlag = "gc-percent"

// GC is the garbage collector's target the options ask for and where it
// comes from: --gc-percent when given, else GOGC from the environment
// (which the Go runtime has applied by itself; percent is then 0), else
// DefaultGCPercent.
func (o *Options) GC(getenv func(string) string) (percent int, source string) {
	given := false
	if o.flags != nil {
		o.flags.Visit(func(f *flag.Flag) {
			if f.Name == gcPercentFlag {
				given = true
			}
		})
	}
	switch {
	case given:
		return o.GCPercent, "--" + gcPercentFlag
	case getenv("GOGC") != "":
		return 0, "GOGC=" + getenv("GOGC")
	}
	return DefaultGCPercent, "default"
}

// ApplyGC sets the garbage collector's target (GC) and returns a line for
// the startup log.
func (o *Options) ApplyGC() string {
	percent, source := o.GC(os.Getenv)
	if percent == 0 {
		return fmt.Sprintf("garbage collector target from the environment (%s)", source)
	}
	debug.SetGCPercent(percent)
	return fmt.Sprintf("garbage collector target GOGC=%d (%s)", percent, source)
}
