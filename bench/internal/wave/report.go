package wave

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

// Figures are the controller's measurements over a wave, from BeginWave
// to a Measure.
type Figures struct {
	// Kind is the controller measured.
	Kind controllerproc.Kind
	// N, QPS and Burst are the run's settings.
	N     int
	QPS   float64
	Burst int
	// Wall is the time from BeginWave to the wave's Done, or to the
	// Measure when it is not done.
	Wall time.Duration
	// Quiet tells whether the figures were measured once the controller
	// had sent no request for QuietFor (MeasureSettled); Settle is how
	// long after the wave's end its requests went on, or how long the
	// benchmark waited for a quiet that did not come.
	Quiet  bool
	Settle time.Duration
	// CPU is the controller's CPU seconds over the wave; CPUTotal since it
	// started.
	CPU, CPUTotal float64
	// BenchCPU is the benchmark's own CPU seconds over the wave (its
	// proxy, informers and scrapes), which shared the machine.
	BenchCPU float64
	// RSS is the controller's resident set at the Measure; PeakRSS its
	// peak since BeginWave, PeakRSSEver since it started; all in MiB.
	RSS, PeakRSS, PeakRSSEver float64
	// HeapLive is the Go heap the controller's runtime found live at its
	// last collection (go_gc_heap_live_bytes), in MiB; -1 when not read.
	HeapLive float64
	// Requests are the controller's API requests over the wave, by
	// "verb resource", as the proxy saw them arrive.
	Requests map[string]float64
	// Counted is the controller's own request counter over the same time,
	// all requests summed: a check on Requests.
	Counted float64
	// Rate is the controller's request rate over the wave.
	Rate Rate
	// LoadStart and LoadEnd are the machine's load average over the last
	// minute at the wave's start and at the Measure.
	LoadStart, LoadEnd float64
}

// Minimum is the fewest requests of each "verb resource" the wave of one
// Rollout needs by design (bench/README.md derives each benchmark's).
type Minimum map[string]float64

// Total is the minimum number of requests per Rollout, of every kind.
func (m Minimum) Total() float64 { return sum(m) }

// Tally is the minimum summed as Figures.Tally sums requests.
func (m Minimum) Tally() Tally { return tally(m) }

// Tally is requests summed.
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
func (f Figures) Tally() Tally { return tally(f.Requests) }

func tally(requests map[string]float64) Tally {
	var t Tally
	for k, v := range requests {
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
// ("update wave"): wall time, controller CPU and resident set, API
// requests per Rollout and their rate, object and event writes per
// Rollout, each against min; with steps > 0 also per Rollout step, the
// wave taking each Rollout through that many steps.
func (f Figures) PrintSummary(w io.Writer, span string, min Minimum, steps int) {
	t, m := f.Tally(), min.Tally()
	n := float64(f.N)
	line := func(label, format string, args ...any) { Line(w, label, format, args...) }
	against := func(v, min float64) string {
		if min == 0 {
			return "no minimum set"
		}
		return fmt.Sprintf("minimum %g, ratio %.2f", min, v/min)
	}
	fmt.Fprintf(w, "\nN=%d  %s  qps=%g burst=%d\n", f.N, f.Kind, f.QPS, f.Burst)
	line("wall time, "+span, "%8.1f s", f.Wall.Seconds())
	line("controller CPU, "+span, "%8.1f s  (whole run %.1f s; the benchmark's own %.1f s)", f.CPU, f.CPUTotal, f.BenchCPU)
	heap := "Go heap live: not read"
	if f.HeapLive >= 0 {
		heap = fmt.Sprintf("Go heap live %.1f MiB", f.HeapLive)
	}
	line("controller RSS after the "+span, "%8.1f MiB  (%s)", f.RSS, heap)
	line("controller peak RSS, "+span, "%8.1f MiB  (since it started %.1f MiB)", f.PeakRSS, f.PeakRSSEver)
	line("API requests, "+span, "%8.0f  (the controller's own counter: %.0f)", t.Total, f.Counted)
	line("API requests per rollout", "%8.2f  (%s)", t.Total/n, against(t.Total/n, m.Total))
	f.PrintRate(w, span)
	line("object writes per rollout", "%8.2f  (%s)", t.Objects/n, against(t.Objects/n, m.Objects))
	if steps > 0 {
		perStep := t.Objects / n / float64(steps)
		line(fmt.Sprintf("object writes per rollout step (%d)", steps), "%8.2f  (minimum %.2f)", perStep, m.Objects/float64(steps))
	}
	line("event writes per rollout", "%8.2f  (%s)", t.Events/n, against(t.Events/n, m.Events))
	line("machine load average (1 min)", "%8.2f at the start, %.2f at the end", f.LoadStart, f.LoadEnd)
	switch {
	case f.Quiet:
		line("requests counted until", "the controller sent none for %.0f s, %.1f s after the %s", QuietFor.Seconds(), f.Settle.Seconds(), span)
	case f.Settle > 0:
		line("requests counted until", "%.0f s after the %s; the controller never sent none for %.0f s", f.Settle.Seconds(), span, QuietFor.Seconds())
	}
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
