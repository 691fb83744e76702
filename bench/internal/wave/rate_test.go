package wave

import (
	"math"
	"testing"
	"time"
)

// every is n arrivals step apart from first.
func every(first, step time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = first + time.Duration(i)*step
	}
	return out
}

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		arrivals []time.Duration
		span     time.Duration
		want     Rate
	}{
		{"no requests", nil, 4 * time.Second, Rate{}},
		{
			// 10 a second for 4 s: a window of 1 s holds 10, never the
			// 11th that begins the next second.
			"steady", every(0, 100*time.Millisecond, 40), 4 * time.Second,
			Rate{Mean: 10, Peak1s: 10, Peak2s: 10},
		},
		{
			// A burst of 60 in half a second, then quiet.
			"burst", every(time.Second, 500*time.Millisecond/60, 60), 4 * time.Second,
			Rate{Mean: 15, Peak1s: 60, Peak2s: 30},
		},
		{
			// 15 in [1.5 s, 2 s) and 25 in [2 s, 2.5 s): the busiest
			// second straddles two seconds of the clock; the busiest 2 s
			// begin at 0.5 s (10 + 15 + 25).
			"straddling", append(append(every(0, 100*time.Millisecond, 15), every(1500*time.Millisecond, 500*time.Millisecond/15, 15)...),
				every(2000*time.Millisecond, 500*time.Millisecond/25, 25)...), 3 * time.Second,
			Rate{Mean: 55.0 / 3, Peak1s: 40, Peak2s: 25},
		},
		{
			// A wave shorter than the window is one window: 30 in 0.5 s
			// are 30 in that second, 15 a second over 2 s.
			"shorter than a window", every(0, 500*time.Millisecond/30, 30), 500 * time.Millisecond,
			Rate{Mean: 60, Peak1s: 30, Peak2s: 15},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Rates(tc.arrivals, tc.span)
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"mean", got.Mean, tc.want.Mean}, {"peak 1 s", got.Peak1s, tc.want.Peak1s}, {"peak 2 s", got.Peak2s, tc.want.Peak2s}} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}
