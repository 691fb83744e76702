package judge

import "math"

// The Hodges–Lehmann estimate of the shift between two samples is the
// median of all m·n pairwise differences canary[j] − baseline[i], and its
// distribution-free confidence interval is bounded by two order statistics
// of those differences chosen from the U distribution's critical value.
//
// Rather than materialise m·n differences (a long window of many pods gives
// millions), the k-th smallest is found by bisection over the float64 values:
// with both samples sorted, the differences at most t can be counted in
// O(m+n) steps, and at most 64 counts narrow any interval of float64 values
// to one value.

// pairwiseKth returns the k-th smallest (1-based) of c[j] − b[i] over all
// pairs; b and c are sorted ascending and non-empty, 1 ≤ k ≤ len(b)·len(c).
func pairwiseKth(b, c []float64, k int) float64 {
	lo := c[0] - b[len(b)-1] // the smallest difference
	if countAtMost(b, c, lo) >= k {
		return lo
	}
	hi := c[len(c)-1] - b[0] // the largest; countAtMost(hi) = m·n ≥ k
	// Invariant: countAtMost(lo) < k ≤ countAtMost(hi).
	for {
		mid := midFloat(lo, hi)
		if mid == lo || mid == hi {
			break
		}
		if countAtMost(b, c, mid) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
	// lo and hi are adjacent float64 values, so the k-th difference, which
	// is above lo and at most hi, is hi.
	return hi
}

// countAtMost counts the pairs with c[j] − b[i] ≤ t. For each canary value
// the qualifying baseline values are a suffix of b, whose start only moves
// right as the canary value grows.
func countAtMost(b, c []float64, t float64) int {
	count, i := 0, 0
	for _, cj := range c {
		for i < len(b) && cj-b[i] > t {
			i++
		}
		count += len(b) - i
	}
	return count
}

// midFloat is a float64 halfway between a < b in the order of float64
// values rather than in value, so bisection ends in at most 64 steps even
// across zero or between numbers of very different magnitude.
func midFloat(a, b float64) float64 {
	ka, kb := orderKey(a), orderKey(b)
	return fromOrderKey(ka + (kb-ka)/2)
}

// orderKey maps float64 values (not NaN) to uint64 keys in the same order.
func orderKey(f float64) uint64 {
	u := math.Float64bits(f)
	if u>>63 == 1 {
		return ^u // negative: larger magnitude sorts lower
	}
	return u | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// hodgesLehmann is the median of the pairwise differences.
func hodgesLehmann(b, c []float64) float64 {
	total := len(b) * len(c)
	if total%2 == 1 {
		return pairwiseKth(b, c, total/2+1)
	}
	return (pairwiseKth(b, c, total/2) + pairwiseKth(b, c, total/2+1)) / 2
}

// shiftInterval is the confidence interval of the shift at the given
// two-sided confidence: the k-th smallest and k-th largest differences,
// k = 1 + the critical value of U for (1 − confidence)/2. ok is false when
// the samples are too small for an interval at that confidence.
func shiftInterval(b, c []float64, t mannWhitney, confidence float64) (low, high float64, ok bool) {
	k := t.critical((1-confidence)/2) + 1
	if k < 1 {
		return 0, 0, false
	}
	total := len(b) * len(c)
	if k > total/2 {
		// All differences lie inside any interval this narrow; it happens
		// only when every value ties (then both bounds are the one
		// difference there is).
		k = (total + 1) / 2
	}
	return pairwiseKth(b, c, k), pairwiseKth(b, c, total+1-k), true
}
