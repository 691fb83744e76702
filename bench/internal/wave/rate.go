package wave

import (
	"fmt"
	"io"
	"time"
)

// Rate is the controller's request rate over a wave, in requests per
// second: the mean over the wave, and the most requests that arrived
// within any window of 1 s and of 2 s, divided by the window.
type Rate struct {
	Mean, Peak1s, Peak2s float64
}

// Rates computes the Rate of requests that arrived at the given times,
// measured from the wave's start and in order, over a wave of length
// span.
func Rates(arrivals []time.Duration, span time.Duration) Rate {
	var r Rate
	if len(arrivals) == 0 {
		return r
	}
	if span > 0 {
		r.Mean = float64(len(arrivals)) / span.Seconds()
	}
	r.Peak1s = PeakRate(arrivals, time.Second)
	r.Peak2s = PeakRate(arrivals, 2*time.Second)
	return r
}

// PeakRate is the most arrivals within any window [t, t+window), divided
// by window. A wave shorter than window counts as one window.
func PeakRate(arrivals []time.Duration, window time.Duration) float64 {
	most, j := 0, 0
	for i := range arrivals {
		// Move j past the last arrival within window of arrival i; the
		// busiest window can always be moved to begin at an arrival.
		for j < len(arrivals) && arrivals[j]-arrivals[i] < window {
			j++
		}
		most = max(most, j-i)
	}
	return float64(most) / window.Seconds()
}

// PrintRate prints the request rate of the wave next to the budget the
// controller was given: over any T seconds it may send burst + qps·T.
func (f Figures) PrintRate(w io.Writer, span string) {
	budget := "no client budget (--qps < 0)"
	if f.QPS > 0 {
		budget = fmt.Sprintf("budget --qps %g --burst %d: ≤ %.0f in 1 s, ≤ %.0f/s over 2 s",
			f.QPS, f.Burst, float64(f.Burst)+f.QPS, (float64(f.Burst)+2*f.QPS)/2)
	}
	Line(w, "request rate, "+span+", mean", "%8.1f /s  (%s)", f.Rate.Mean, budget)
	Line(w, "request rate, peak over 1 s", "%8.1f /s", f.Rate.Peak1s)
	Line(w, "request rate, peak over 2 s", "%8.1f /s", f.Rate.Peak2s)
}
