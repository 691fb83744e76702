package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func sorted(s []float64) []float64 {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// The critical values of U for a two-tailed test at α = 0.05 (reject when
// U ≤ the value) and a one-tailed test at α = 0.05, as printed in the
// standard table of critical values of U found in statistics textbooks (the
// two-tailed diagonal: 2, 5, 8, 13, 17, 23 for n = 5..10, 127 for n = 20),
// each recomputed with SciPy 1.10's exact distribution
// (scipy.stats._mannwhitneyu._mwu_state.cdf).
func TestCriticalValuesMatchTable(t *testing.T) {
	cases := []struct {
		m, n             int
		twoTail, oneTail int
	}{
		{4, 4, 0, 1},
		{3, 5, 0, 1},
		{5, 5, 2, 4},
		{6, 6, 5, 7},
		{7, 7, 8, 11},
		{8, 8, 13, 15},
		{9, 9, 17, 21},
		{10, 10, 23, 27},
		{12, 12, 37, 42},
		{15, 15, 64, 72},
		{20, 20, 127, 138},
		{5, 10, 8, 11},
		{8, 12, 22, 26},
		{10, 20, 55, 62},
	}
	for _, c := range cases {
		mw := mannWhitney{m: c.m, n: c.n}
		if got := mw.critical(0.025); got != c.twoTail {
			t.Errorf("m=%d n=%d: two-tailed critical U = %d, table says %d", c.m, c.n, got, c.twoTail)
		}
		if got := mw.critical(0.05); got != c.oneTail {
			t.Errorf("m=%d n=%d: one-tailed critical U = %d, table says %d", c.m, c.n, got, c.oneTail)
		}
	}
}

// The exact distribution must agree with counting every arrangement of m
// baseline and n canary values (a second, brute-force implementation).
func TestExactDistributionMatchesEnumeration(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {2, 3}, {4, 4}, {3, 7}, {6, 5}} {
		m, n := size[0], size[1]
		counts := make([]int, m*n+1)
		total := 0
		// Each subset of positions 0..m+n-1 holding the canary values is
		// one arrangement; U counts baseline positions below each canary.
		for mask := 0; mask < 1<<(m+n); mask++ {
			if popcount(mask) != n {
				continue
			}
			u, below := 0, 0
			for p := 0; p < m+n; p++ {
				if mask&(1<<p) != 0 {
					u += below
				} else {
					below++
				}
			}
			counts[u]++
			total++
		}
		cdf := exactCDF(m, n)
		run := 0
		for u, c := range counts {
			run += c
			if want := float64(run) / float64(total); math.Abs(cdf[u]-want) > 1e-12 {
				t.Errorf("m=%d n=%d: P(U ≤ %d) = %v, enumeration gives %v", m, n, u, cdf[u], want)
			}
		}
	}
	// The largest size computed exactly: probabilities stay within [0, 1]
	// and the distribution is symmetric about mn/2.
	cdf := exactCDF(30, 30)
	top := len(cdf) - 1
	for u := 0; u < top; u++ {
		lower := cdf[u]
		upper := 1 - cdf[top-u-1] // P(U ≥ top−u) = P(U ≤ u) by symmetry
		if lower < 0 || lower > 1 || math.Abs(lower-upper) > 1e-9 {
			t.Fatalf("m=n=30: P(U ≤ %d) = %v, P(U ≥ %d) = %v", u, lower, top-u, upper)
		}
	}
}

// The worked example of the NAG Library's g08ahf/g08akf (Mann–Whitney U
// test, exact probabilities with ties): groups of 16 and 23 with many
// ties, U = 86, approximate lower-tail probability 0.0025 and exact tail
// probability 0.0020, both printed to four decimals. The exact one has
// too many ways to split the ties for Compare's limit, so tiedTails is
// called with a larger one here.
func TestNAGWorkedExampleWithTies(t *testing.T) {
	canary := []float64{13, 6, 12, 7, 12, 7, 10, 7, 10, 7, 16, 7, 10, 8, 9, 8}
	baseline := []float64{17, 6, 10, 8, 15, 8, 15, 10, 15, 10, 14, 10, 14, 11, 14, 11, 13, 12, 13, 12, 13, 12, 12}
	mw := newMannWhitney(sorted(baseline), sorted(canary))
	if mw.u != 86 {
		t.Errorf("U = %v, want 86", mw.u)
	}
	if mw.tiedExact {
		t.Error("the exact distribution given these ties was computed within the default limit")
	}
	if p := mw.pLess(); math.Abs(p-0.0025) > 0.00005 {
		t.Errorf("approximate lower tail %.5f, NAG prints 0.0025", p)
	}
	rankSum := int(2 * (mw.u + 16*17/2))
	_, less, ok := tiedTails(mw.groups, mw.n, rankSum, 10_000_000)
	t.Logf("exact lower tail given ties %.6f", less)
	if !ok || math.Abs(less-0.0020) > 0.00005 {
		t.Errorf("exact lower tail given ties %.5f (ok %v), NAG prints 0.0020", less, ok)
	}
}

// The exact distribution given ties must agree with enumerating every
// choice of which pooled values are the canary's.
func TestTiedExactMatchesEnumeration(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 30; trial++ {
		m, n := 1+r.IntN(8), 1+r.IntN(8)
		pool := make([]float64, m+n)
		for i := range pool {
			pool[i] = float64(r.IntN(3)) // few values: many ties
		}
		b, c := sorted(pool[:m]), sorted(pool[m:])
		mw := newMannWhitney(b, c)
		if mw.tieSum == 0 {
			continue
		}
		if !mw.tiedExact {
			t.Fatalf("%v vs %v: exact distribution given ties not computed", b, c)
		}
		var ge, le, all int
		for mask := 0; mask < 1<<(m+n); mask++ {
			if popcount(mask) != n {
				continue
			}
			var bb, cc []float64
			for i, v := range pool {
				if mask&(1<<i) != 0 {
					cc = append(cc, v)
				} else {
					bb = append(bb, v)
				}
			}
			u := newMannWhitney(sorted(bb), sorted(cc)).u
			all++
			if u >= mw.u {
				ge++
			}
			if u <= mw.u {
				le++
			}
		}
		if g, l := float64(ge)/float64(all), float64(le)/float64(all); math.Abs(g-mw.pGreater()) > 1e-9 || math.Abs(l-mw.pLess()) > 1e-9 {
			t.Errorf("%v vs %v: P(U ≥ %v) = %v, P(U ≤ %v) = %v; enumeration gives %v, %v",
				b, c, mw.u, mw.pGreater(), mw.u, mw.pLess(), g, l)
		}
	}
}

func popcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

// P-values against published worked examples and SciPy 1.10:
// scipy.stats.mannwhitneyu (method "exact", or "asymptotic" with
// use_continuity=True, which corrects the variance for ties) and, for the
// exact distribution given ties, scipy.stats.permutation_test over every
// split (n_resamples=inf) of the U statistic; the canary first. Cases marked
// normal check the normal approximation even where the judge would use the
// exact distribution given the ties.
func TestPValuesMatchReferences(t *testing.T) {
	cases := []struct {
		name                    string
		normal                  bool
		baseline, canary        []float64
		u                       float64
		greater, less, twoSided float64
	}{
		{
			// R's ?wilcox.test example (Hollander & Wolfe, 1973, p. 69:
			// permeability constants): W = 35, p-value = 0.1272 for
			// alternative "greater", exact.
			name:     "Hollander–Wolfe permeability, exact",
			canary:   []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			baseline: []float64{1.15, 0.88, 0.90, 0.74, 1.21},
			u:        35, greater: 0.1272061272061272, less: 0.8967698967698966, twoSided: 0.2544122544122544,
		},
		{
			// R's ?wilcox.test example on airquality: Ozone in May against
			// August (NAs removed), W = 127.5, p-value = 0.0001208: normal
			// approximation with continuity and tie correction.
			name:     "airquality ozone May vs August, ties",
			normal:   true,
			canary:   []float64{41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37},
			baseline: []float64{39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85},
			u:        127.5, greater: 0.9999439498752809, less: 6.040391538438717e-05, twoSided: 0.00012080783076877434,
		},
		{
			name:     "small samples, exact (SciPy)",
			baseline: []float64{12.1, 14.3, 9.8, 11.0, 13.2, 10.4},
			canary:   []float64{15.2, 13.9, 16.1, 12.7, 17.3, 14.8, 15.5},
			u:        39, greater: 0.004079254079254079, less: 0.9976689976689977, twoSided: 0.008158508158508158,
		},
		{
			name:     "zero-inflated counts, ties, normal approximation (SciPy)",
			normal:   true,
			baseline: []float64{0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0},
			canary:   []float64{0, 1, 0, 3, 0, 0, 2, 1, 0, 0, 0, 1, 0, 4, 0, 0, 1, 0, 2, 0},
			u:        253, greater: 0.035133996013890764, less: 0.9674564112506282, twoSided: 0.07026799202778153,
		},
		{
			name:     "histogram-bucket latencies, ties, normal approximation (SciPy)",
			normal:   true,
			baseline: []float64{0.1, 0.1, 0.25, 0.1, 0.25, 0.1, 0.1, 0.5, 0.1, 0.25, 0.1, 0.1},
			canary:   []float64{0.25, 0.1, 0.25, 0.5, 0.25, 0.1, 0.5, 0.25, 0.25, 0.1, 0.5, 0.25, 0.25},
			u:        113, greater: 0.02078929680560214, less: 0.9819933687913921, twoSided: 0.04157859361120428,
		},
		{
			name:     "small counts with ties, exact given the ties (SciPy permutation_test)",
			baseline: []float64{0, 0, 1, 0, 2, 0, 0, 1},
			canary:   []float64{1, 0, 2, 3, 0, 1, 2, 0, 1},
			u:        48.5, greater: 0.13661044837515426, less: 0.932496914849856, twoSided: 0.27322089675030853,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mw := newMannWhitney(sorted(c.baseline), sorted(c.canary))
			if c.normal {
				mw.tiedExact = false
			} else if mw.tieSum > 0 && !mw.tiedExact {
				t.Fatal("the exact distribution given the ties was not computed")
			}
			if mw.u != c.u {
				t.Errorf("U = %v, want %v", mw.u, c.u)
			}
			check := func(what string, got, want float64) {
				if want != 0 && math.Abs(got-want) > 1e-9*math.Max(1, want) && math.Abs(got/want-1) > 1e-6 {
					t.Errorf("%s p = %.12g, want %.12g", what, got, want)
				}
			}
			check("greater", mw.pGreater(), c.greater)
			check("less", mw.pLess(), c.less)
			check("two-sided", mw.pTwoSided(), c.twoSided)
		})
	}
}

func TestNormalQuantileInvertsCDF(t *testing.T) {
	for _, c := range []struct{ p, z float64 }{
		{0.975, 1.959963984540054}, // the textbook 1.96
		{0.95, 1.6448536269514722}, // 1.645
		{0.5, 0},
		{0.025, -1.959963984540054},
	} {
		if got := normalQuantile(c.p); math.Abs(got-c.z) > 1e-12 {
			t.Errorf("Φ⁻¹(%v) = %v, want %v", c.p, got, c.z)
		}
		if got := normalCDF(c.z); math.Abs(got-c.p) > 1e-12 {
			t.Errorf("Φ(%v) = %v, want %v", c.z, got, c.p)
		}
	}
}
