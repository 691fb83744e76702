package wave

import (
	"math"
	"testing"
	"time"
)

// at builds samples from (milliseconds, cumulative requests) pairs.
func at(pairs ...float64) []Sample {
	var out []Sample
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Sample{At: time.Duration(pairs[i]) * time.Millisecond, Requests: pairs[i+1]})
	}
	return out
}

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    Rate
	}{
		{"no samples", nil, Rate{}},
		{"baseline only", at(0, 100), Rate{}},
		{
			// 10 a second for 4 s, counted from a non-zero baseline.
			"steady", at(0, 500, 1000, 510, 2000, 520, 3000, 530, 4000, 540),
			Rate{Mean: 10, Peak1s: 10, Peak2s: 10},
		},
		{
			// A burst of 60 in the second second, then quiet.
			"burst", at(0, 0, 1000, 10, 2000, 70, 3000, 70, 4000, 70),
			Rate{Mean: 17.5, Peak1s: 60, Peak2s: 35},
		},
		{
			// Samples every 500 ms: the busiest 1 s straddles two seconds
			// of the clock (15+25 between 1.5 s and 2.5 s).
			"straddling", at(0, 0, 500, 5, 1000, 10, 1500, 25, 2000, 40, 2500, 50, 3000, 55),
			Rate{Mean: 55.0 / 3, Peak1s: 30, Peak2s: 22.5},
		},
		{
			// Late samples: a window never spans more than its length, so
			// the 1.2 s gap counts in neither 1 s window.
			"gap longer than the window", at(0, 0, 1200, 60, 2000, 64),
			Rate{Mean: 32, Peak1s: 4, Peak2s: 32},
		},
		{
			// A wave shorter than the window is one window: 30 in 0.5 s is
			// 30 in that second, 15 a second over 2 s.
			"shorter than a window", at(0, 0, 500, 30),
			Rate{Mean: 60, Peak1s: 30, Peak2s: 15},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Rates(tc.samples)
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"mean", got.Mean, tc.want.Mean}, {"peak 1 s", got.Peak1s, tc.want.Peak1s}, {"peak 2 s", got.Peak2s, tc.want.Peak2s}} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %v, want %v (samples %v)", c.what, c.got, c.want, tc.samples)
				}
			}
		})
	}
}

func TestSamplerUpTo(t *testing.T) {
	s := &sampler{samples: at(0, 0, 200, 3, 400, 7, 600, 9)}
	got := s.upTo(Sample{At: 500 * time.Millisecond, Requests: 8})
	want := at(0, 0, 200, 3, 400, 7, 500, 8)
	if len(got) != len(want) {
		t.Fatalf("upTo = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("upTo = %v, want %v", got, want)
		}
	}
}
