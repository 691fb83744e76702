package judge

import (
	"math"
	"sync"
)

// exactLimit is the largest total sample size whose tie-free U distribution
// is computed exactly. Below it the normal approximation is noticeably off
// in the tails; the counts are C(m+n, m), which fit in a uint64 up to 66.
const exactLimit = 60

// mannWhitney is the Mann–Whitney U test of a canary sample against a
// baseline sample. U counts, over all baseline×canary pairs, those where
// the canary is larger, plus half of those that tie: it is mn/2 when the
// two sides are alike, near mn when the canary is larger.
type mannWhitney struct {
	m, n   int     // baseline and canary sizes
	u      float64 // the canary's U
	tieSum float64 // Σ(t³−t) over groups of t tied values, for the variance
	groups []tieGroup
	// With ties, the exact tails P(U ≥ u) and P(U ≤ u) given the ties,
	// when they could be computed (tiedExact).
	tiedExact             bool
	tiedGreater, tiedLess float64
}

// tieGroup is a run of equal values in the pooled sample: how many, and
// twice their mid-rank (an integer).
type tieGroup struct{ size, rank2 int }

// newMannWhitney takes both samples sorted ascending.
func newMannWhitney(b, c []float64) mannWhitney {
	t := mannWhitney{m: len(b), n: len(c)}
	// Merge the sorted samples, giving each run of equal values its mid-rank.
	rankSum := 0.0 // of the canary
	i, j := 0, 0
	for i < len(b) || j < len(c) {
		var v float64
		switch {
		case i == len(b):
			v = c[j]
		case j == len(c):
			v = b[i]
		default:
			v = math.Min(b[i], c[j])
		}
		first := float64(i + j + 1)
		nb, nc := 0, 0
		for i < len(b) && b[i] == v {
			i++
			nb++
		}
		for j < len(c) && c[j] == v {
			j++
			nc++
		}
		tied := float64(nb + nc)
		mid := first + (tied-1)/2
		rankSum += mid * float64(nc)
		t.tieSum += tied*tied*tied - tied
		t.groups = append(t.groups, tieGroup{size: nb + nc, rank2: int(2 * mid)})
	}
	n := float64(t.n)
	t.u = rankSum - n*(n+1)/2
	if t.tieSum > 0 {
		t.tiedGreater, t.tiedLess, t.tiedExact = tiedTails(t.groups, t.n, int(2*rankSum), tiedLeafLimit)
	}
	return t
}

func (t mannWhitney) mean() float64 { return float64(t.m) * float64(t.n) / 2 }

// sd is the standard deviation of U under the null hypothesis, corrected
// for ties: tied values carry less information, so U varies less.
func (t mannWhitney) sd() float64 {
	m, n := float64(t.m), float64(t.n)
	total := m + n
	v := m * n / 12 * ((total + 1) - t.tieSum/(total*(total-1)))
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}

// tieShare is the share of U's variance that ties remove: 0 for distinct
// values, near 1 when almost every value is the same.
func (t mannWhitney) tieShare() float64 {
	total := float64(t.m + t.n)
	if total < 2 {
		return 0
	}
	return t.tieSum / (total*total*total - total)
}

// exact says whether the exact distribution applies: no ties (U is then an
// integer) and samples small enough to enumerate.
func (t mannWhitney) exact() bool {
	return t.tieSum == 0 && t.m+t.n <= exactLimit && t.m > 0 && t.n > 0
}

// pGreater is P(U ≥ u) under the null hypothesis: the one-sided p-value for
// "the canary is larger".
func (t mannWhitney) pGreater() float64 {
	if t.exact() {
		cdf := exactCDF(t.m, t.n)
		u := int(t.u)
		if u <= 0 {
			return 1
		}
		return clamp01(1 - cdf[u-1])
	}
	if t.tiedExact {
		return t.tiedGreater
	}
	sd := t.sd()
	if sd == 0 {
		return 1
	}
	// Continuity correction: U moves in steps of at least ½.
	return normalCDF(-(t.u - t.mean() - 0.5) / sd)
}

// pLess is P(U ≤ u): the one-sided p-value for "the canary is smaller".
func (t mannWhitney) pLess() float64 {
	if t.exact() {
		return clamp01(exactCDF(t.m, t.n)[int(t.u)])
	}
	if t.tiedExact {
		return t.tiedLess
	}
	sd := t.sd()
	if sd == 0 {
		return 1
	}
	return normalCDF((t.u - t.mean() + 0.5) / sd)
}

// pTwoSided is the p-value for "the canary differs".
func (t mannWhitney) pTwoSided() float64 {
	return math.Min(1, 2*math.Min(t.pLess(), t.pGreater()))
}

// critical is the largest u with P(U ≤ u) ≤ tail under the null hypothesis,
// or -1 when even U = 0 is likelier than that (samples too small). The
// tables of "critical values of U" list it for tail = α/2.
func (t mannWhitney) critical(tail float64) int {
	if t.exact() {
		cdf := exactCDF(t.m, t.n)
		u := -1
		for u+1 < len(cdf) && cdf[u+1] <= tail+1e-12 {
			u++
		}
		return u
	}
	sd := t.sd()
	if sd == 0 {
		return -1
	}
	// Normal approximation with continuity correction: the largest u with
	// Φ((u − mean + ½)/sd) ≤ tail.
	return int(math.Floor(t.mean() - 0.5 + sd*normalQuantile(tail)))
}

// tiedLeafLimit bounds the work of tiedTails. Samples with few distinct
// values, the counts for which the normal approximation errs most (error
// counters that are mostly 0), stay far below it; samples of mostly distinct
// values exceed it at once and use the normal approximation, which is good
// for them.
const tiedLeafLimit = 100_000

// tiedTails is the exact distribution of the canary's rank sum given the
// ties: the permutation distribution, under which each choice of which n
// of the pooled values are the canary's is equally likely. A choice is
// summed up by how many canary values fall in each group of equal values,
// x_g, with probability Π C(t_g, x_g) / C(N, n) (multivariate
// hypergeometric) and rank sum Σ x_g·rank_g; every such vector is visited.
// It returns P(R ≥ r) and P(R ≤ r) for the observed rank2 = 2r, and
// ok = false when there could be more than limit vectors to visit.
func tiedTails(groups []tieGroup, n, rank2, limit int) (greater, less float64, ok bool) {
	leaves := 1
	for _, g := range groups[:len(groups)-1] {
		leaves *= min(g.size, n) + 1
		if leaves > limit {
			return 0, 0, false
		}
	}
	// after[g]: how many pooled values lie in the groups after g.
	after := make([]int, len(groups))
	total := 0
	for g := len(groups) - 1; g >= 0; g-- {
		after[g] = total
		total += groups[g].size
	}
	logFact := make([]float64, total+1)
	for i := 2; i <= total; i++ {
		logFact[i] = logFact[i-1] + math.Log(float64(i))
	}
	logChoose := func(a, b int) float64 { return logFact[a] - logFact[b] - logFact[a-b] }
	logAll := logChoose(total, n)
	last := len(groups) - 1
	var walk func(g, need, sum int, logP float64)
	walk = func(g, need, sum int, logP float64) {
		if g == last { // the canary values still to place are all here
			sum += need * groups[g].rank2
			p := math.Exp(logP + logChoose(groups[g].size, need) - logAll)
			if sum >= rank2 {
				greater += p
			}
			if sum <= rank2 {
				less += p
			}
			return
		}
		size := groups[g].size
		for x := max(0, need-after[g]); x <= min(size, need); x++ {
			walk(g+1, need-x, sum+x*groups[g].rank2, logP+logChoose(size, x))
		}
	}
	walk(0, n, 0, 0)
	return clamp01(greater), clamp01(less), true
}

var exactCache sync.Map // [2]int{m, n} → []float64

// exactCDF is the null distribution of U for sizes m and n without ties:
// cdf[u] = P(U ≤ u). The number of arrangements giving each U are the
// coefficients of the Gaussian binomial coefficient [m+n choose m]_q =
// Π_{i=1..m} (1 − q^(n+i)) / (1 − q^i), computed by multiplying and dividing
// by each factor in turn (Harding, 1984). Intermediate values may wrap
// around in uint64, but the arithmetic is exact modulo 2^64 and the final
// counts, at most C(60, 30), fit.
func exactCDF(m, n int) []float64 {
	if m > n {
		m, n = n, m // the distribution is symmetric in the two sizes
	}
	key := [2]int{m, n}
	if cdf, ok := exactCache.Load(key); ok {
		return cdf.([]float64)
	}
	top := m * n
	f := make([]uint64, top+1)
	f[0] = 1
	for i := 1; i <= m; i++ {
		k := n + i
		for u := top; u >= k; u-- {
			f[u] -= f[u-k]
		}
		for u := i; u <= top; u++ {
			f[u] += f[u-i]
		}
	}
	var total uint64
	for _, c := range f {
		total += c
	}
	cdf := make([]float64, top+1)
	var run uint64
	for u, c := range f {
		run += c
		cdf[u] = float64(run) / float64(total)
	}
	exactCache.Store(key, cdf)
	return cdf
}

// normalCDF is Φ(x), the standard normal distribution function.
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// normalQuantile is Φ⁻¹(p).
func normalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

func clamp01(p float64) float64 { return math.Max(0, math.Min(1, p)) }
