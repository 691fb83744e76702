package wave

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Figures are the controller's measurements over a wave, from BeginWave
// to a Measure.
type Figures struct {
	// N, QPS and Burst are the run's settings.
	N     int
	QPS   float64
	Burst int
	// Wall is the time from BeginWave to Measure.
	Wall time.Duration
	// CPU is the controller's CPU seconds over the wave; CPUTotal since it
	// started.
	CPU, CPUTotal float64
	// PeakRSS is the controller's high-water resident set, in MiB.
	PeakRSS float64
	// Requests are the controller's API requests over the wave, by
	// "verb resource".
	Requests map[string]float64
	// Rate is the controller's request rate over the wave.
	Rate Rate
}

// Minimum is the fewest writes of each "verb resource" the wave of one
// Rollout needs by design (bench/README.md derives each benchmark's).
type Minimum map[string]float64

// Total is the minimum number of object writes per Rollout.
func (m Minimum) Total() float64 { return sum(m) }

// Tally is the requests of a wave, summed.
type Tally struct {
	// Objects are writes of objects: creates, updates, patches and
	// deletes of anything but events and leases.
	Objects float64
	// Events are event writes, counted apart: they report decisions
	// rather than make them.
	Events float64
	// Total is every request, reads included.
	Total float64
}

// Tally sums f's requests.
func (f Figures) Tally() Tally {
	var t Tally
	for k, v := range f.Requests {
		t.Total += v
		verb, resource, _ := strings.Cut(k, " ")
		if verb != "create" && verb != "update" && verb != "patch" && verb != "delete" {
			continue
		}
		switch resource {
		case "events":
			t.Events += v
		case "leases":
		default:
			t.Objects += v
		}
	}
	return t
}

// PrintRequests lists f's requests by verb and resource: the count, per
// Rollout, and the minimum per Rollout where min has one.
func (f Figures) PrintRequests(w io.Writer, title string, min Minimum) {
	fmt.Fprintf(w, "\n%s (verb resource: count, per rollout, minimum per rollout):\n", title)
	for _, k := range slices.Sorted(maps.Keys(f.Requests)) {
		fmt.Fprintf(w, "  %-34s %8.0f  %6.2f", k, f.Requests[k], f.Requests[k]/float64(f.N))
		if m, ok := min[k]; ok {
			fmt.Fprintf(w, "  %6.0f", m)
		}
		fmt.Fprintln(w)
	}
	for _, k := range slices.Sorted(maps.Keys(min)) {
		if _, ok := f.Requests[k]; !ok {
			fmt.Fprintf(w, "  %-34s %8d  %6.2f  %6.0f\n", k, 0, 0.0, min[k])
		}
	}
}

// PrintSummary prints the figures of the wave, called span in the labels
// ("update wave"): wall time, controller CPU and peak RSS, API requests,
// and object writes per Rollout against min; with steps > 0 also per
// Rollout step, the wave taking each Rollout through that many steps.
func (f Figures) PrintSummary(w io.Writer, span string, min Minimum, steps int) {
	t := f.Tally()
	n := float64(f.N)
	line := func(label, format string, args ...any) { Line(w, label, format, args...) }
	fmt.Fprintf(w, "\nN=%d  qps=%g burst=%d\n", f.N, f.QPS, f.Burst)
	line("wall time, "+span, "%8.1f s", f.Wall.Seconds())
	line("controller CPU, "+span, "%8.1f s  (whole run %.1f s)", f.CPU, f.CPUTotal)
	line("controller peak RSS", "%8.1f MiB", f.PeakRSS)
	line("API requests, "+span, "%8.0f  (%.1f per rollout)", t.Total, t.Total/n)
	f.PrintRate(w, span)
	line("object writes per rollout", "%8.2f  (minimum %g, ratio %.2f)", t.Objects/n, min.Total(), t.Objects/n/min.Total())
	if steps > 0 {
		perStep := t.Objects / n / float64(steps)
		line(fmt.Sprintf("object writes per rollout step (%d)", steps), "%8.2f  (minimum %.2f)", perStep, min.Total()/float64(steps))
	}
	line("event writes per rollout", "%8.2f", t.Events/n)
}

// Line prints one figure of a summary: its label, then format.
func Line(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "  %-40s "+format+"\n", append([]any{label}, args...)...)
}

// Diff is after minus before, keeping what grew.
func Diff(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
