package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteDifferences is the second implementation: every pairwise
// difference, sorted.
func bruteDifferences(b, c []float64) []float64 {
	var d []float64
	for _, x := range b {
		for _, y := range c {
			d = append(d, y-x)
		}
	}
	slices.Sort(d)
	return d
}

func bruteMedian(d []float64) float64 {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

func TestPairwiseSelectionMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	draws := map[string]func() float64{
		"continuous":    func() float64 { return r.NormFloat64()*3 + 1 },
		"ties":          func() float64 { return float64(r.IntN(4)) * 0.25 },
		"across zero":   func() float64 { return (r.Float64() - 0.5) * 1e-300 },
		"wide exponent": func() float64 { return math.Exp(r.NormFloat64() * 30) },
	}
	for name, draw := range draws {
		for trial := 0; trial < 40; trial++ {
			b := make([]float64, 1+r.IntN(15))
			c := make([]float64, 1+r.IntN(15))
			for i := range b {
				b[i] = draw()
			}
			for i := range c {
				c[i] = draw()
			}
			b, c = sorted(b), sorted(c)
			d := bruteDifferences(b, c)
			for k := 1; k <= len(d); k++ {
				if got := pairwiseKth(b, c, k); got != d[k-1] {
					t.Fatalf("%s: %d-th difference of %v and %v = %v, brute force %v", name, k, b, c, got, d[k-1])
				}
			}
			if got, want := hodgesLehmann(b, c), bruteMedian(d); got != want {
				t.Fatalf("%s: Hodges–Lehmann of %v and %v = %v, brute force %v", name, b, c, got, want)
			}
		}
	}
}

// The interval is bounded by the k-th smallest and k-th largest difference,
// k = 1 + the critical U: for m = n = 10 at 95% the table's 23 gives the
// 24th and 77th of the 100 differences.
func TestShiftIntervalOrderStatistics(t *testing.T) {
	b := make([]float64, 10)
	c := make([]float64, 10)
	for i := range b {
		b[i] = float64(i) * 1.5
		c[i] = float64(i)*1.7 + 2.05
	}
	d := bruteDifferences(b, c)
	mw := newMannWhitney(b, c)
	low, high, ok := shiftInterval(b, c, mw, 0.95)
	if !ok || low != d[23] || high != d[76] {
		t.Errorf("95%% interval = [%v, %v] ok=%v, want [%v, %v] (24th and 77th differences)", low, high, ok, d[23], d[76])
	}
	// Three a side: P(U = 0) = 1/20 > 2.5%, so no 95% interval exists.
	small := []float64{1, 2, 3}
	if _, _, ok := shiftInterval(small, []float64{4, 5, 6}, newMannWhitney(small, []float64{4, 5, 6}), 0.95); ok {
		t.Error("3 samples a side gave a 95% interval")
	}
}

// Coverage: on data where the true shift is known, the 90% interval holds
// it about 90% of the time, with the exact distribution (25 and 30 samples)
// and with the normal approximation (40 and 45).
func TestShiftIntervalCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	const trials, shift = 2000, 0.7
	covered := 0
	for i := 0; i < trials; i++ {
		b := make([]float64, 25+15*(i%2))
		c := make([]float64, 30+15*(i%2))
		for j := range b {
			b[j] = r.ExpFloat64()
		}
		for j := range c {
			c[j] = r.ExpFloat64() + shift
		}
		b, c = sorted(b), sorted(c)
		low, high, ok := shiftInterval(b, c, newMannWhitney(b, c), 0.90)
		if ok && low <= shift && shift <= high {
			covered++
		}
	}
	rate := float64(covered) / trials
	t.Logf("90%% interval covered the true shift in %.1f%% of %d trials", rate*100, trials)
	if rate < 0.88 || rate > 0.93 {
		t.Errorf("coverage %.3f, want about 0.90", rate)
	}
}
