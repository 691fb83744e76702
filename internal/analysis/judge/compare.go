package judge

import (
	"fmt"
	"math"
	"slices"
)

// Effect bases: what a Verdict's Effect is relative to.
const (
	// EffectOfMedian: the Hodges–Lehmann shift divided by the baseline median.
	EffectOfMedian = "median"
	// EffectOfMean: the difference of the means divided by the baseline
	// mean, used for count-like samples (mostly a few repeated values, such
	// as error counters that are mostly 0) and when the baseline median is 0.
	EffectOfMean = "mean"
)

// tieHeavyShare is the share of the rank test's variance lost to ties from
// which the samples are treated as counts: it is reached when the pooled
// samples have fewer than about five values in common use.
const tieHeavyShare = 0.1

func (c Criteria) withDefaults() Criteria {
	switch {
	case c.Tolerance == 0:
		c.Tolerance = DefaultTolerance
	case c.Tolerance < 0:
		c.Tolerance = 0
	}
	if c.Direction == "" {
		c.Direction = Either
	}
	if c.MinSamples <= 0 {
		c.MinSamples = DefaultMinSamples
	}
	if c.Weight <= 0 {
		c.Weight = 1
	}
	return c
}

func compare(metric string, baseline, canary []float64, c Criteria) Verdict {
	c = c.withDefaults()
	b, droppedB := finiteSorted(baseline)
	k, droppedC := finiteSorted(canary)
	v := Verdict{Metric: metric, Class: NoData, BaselineN: len(b), CanaryN: len(k),
		Critical: c.Critical, Weight: c.Weight}
	if len(b) > 0 {
		v.BaselineMedian = median(b)
	}
	if len(k) > 0 {
		v.CanaryMedian = median(k)
	}
	v.Reason = classify(&v, b, k, c)
	// Values beyond float64 (differences of ±1e308) must still encode as
	// JSON, which has no infinities.
	for _, f := range []*float64{&v.BaselineMedian, &v.CanaryMedian, &v.Effect, &v.EffectLow, &v.EffectHigh} {
		*f = finite(*f)
	}
	if droppedB+droppedC > 0 {
		v.Reason += fmt.Sprintf(" (dropped %d NaN/Inf samples: %d baseline, %d canary)",
			droppedB+droppedC, droppedB, droppedC)
	}
	return v
}

// classify fills in v's statistics and class, and returns the reason.
func classify(v *Verdict, b, k []float64, c Criteria) string {
	switch {
	case c.Direction != Increase && c.Direction != Decrease && c.Direction != Either:
		return fmt.Sprintf("direction %q is none of increase, decrease or either", c.Direction)
	case len(b) == 0 && len(k) == 0:
		return "no samples from baseline or canary: no traffic, or the query matches nothing"
	case len(b) == 0:
		return "no baseline samples (no traffic to compare against, or the query matches nothing)"
	case len(k) == 0:
		return "no canary samples (no traffic, or the query matches nothing)"
	case len(b) < c.MinSamples || len(k) < c.MinSamples:
		return fmt.Sprintf("%d baseline and %d canary samples, fewer than the %d per side needed",
			len(b), len(k), c.MinSamples)
	case c.Direction == Decrease && b[0] == 0 && b[len(b)-1] == 0:
		// Lower is worse and the baseline never rose above 0: it served
		// nothing, so there is no level the canary could fall short of.
		return "baseline is 0 in every sample: it had no traffic, so a drop cannot be judged"
	case b[0] == b[len(b)-1] && k[0] == k[len(k)-1] && b[0] == k[0]:
		v.PValue = 1
		v.Class = Pass
		return fmt.Sprintf("every baseline and canary sample is %s: no change", num(b[0]))
	}

	t := newMannWhitney(b, k)
	switch c.Direction {
	case Increase:
		v.PValue = t.pGreater()
	case Decrease:
		v.PValue = t.pLess()
	default:
		v.PValue = t.pTwoSided()
	}
	// The interval answers the same question as the test at level Alpha:
	// a one-sided question needs only its side's bound at 1−Alpha, which is
	// the bound of a two-sided interval at 1−2·Alpha.
	confidence := 1 - Alpha
	if c.Direction != Either {
		confidence = 1 - 2*Alpha
	}
	significant := v.PValue < Alpha
	canaryHigher := t.u > t.mean()

	effects, ok := effectsOf(b, k, t, v.BaselineMedian, confidence)
	if !ok {
		return fmt.Sprintf("%d baseline and %d canary samples are too few for a %.0f%% interval",
			len(b), len(k), confidence*100)
	}
	if len(effects) == 0 {
		// A baseline that is 0 throughout (median and mean): no relative
		// change is defined, any canary level is unboundedly more. The
		// rank test alone decides.
		verb := "lower"
		if canaryHigher {
			verb = "higher"
		}
		detail := fmt.Sprintf("baseline is 0 in every sample and the canary is %s (mean %s), p=%s",
			verb, num(mean(k)), pval(v.PValue))
		// The p-value is one-sided in the bad direction unless either
		// direction is bad, so significance alone means worse.
		if !significant {
			v.Class = Pass
			return detail + ": no significant " + worsening(c.Direction)
		}
		v.Class = classOf(canaryHigher)
		return detail + ": a change from nothing, beyond any relative tolerance"
	}

	// Significance comes from the rank test alone; the effect only decides
	// whether a significant change matters. The first effect is the one
	// that suits the samples; the other is checked too, because a change
	// of shape can leave one of them still: a bimodal latency whose slow
	// mode grows moves the mean while the median stays in the fast mode.
	// A change counts when its estimate is beyond the tolerance and its
	// interval clears half of it. Asking the whole interval to clear the
	// tolerance missed a fifth of 10% regressions at 10% noise and 50
	// samples a side; asking only the estimate failed up to 4.9% of A/A
	// judgements on bimodal latencies. TestQuality measures both ends.
	tol := c.Tolerance
	shown := effects[0]
	v.Class = Pass
	if significant {
		for _, e := range effects {
			if canaryHigher && e.estimate > tol && e.low > tol/2 {
				shown, v.Class = e, High
				break
			}
			if !canaryHigher && e.estimate < -tol && e.high < -tol/2 {
				shown, v.Class = e, Low
				break
			}
		}
	}
	// Adding 0 turns −0 (a bound at a 0 difference below the baseline) into
	// 0, which reads better in JSON and in the reason.
	v.Effect, v.EffectLow, v.EffectHigh, v.EffectOf = shown.estimate+0, shown.low+0, shown.high+0, shown.of
	v.Confidence = confidence
	detail := fmt.Sprintf("canary %s %s vs baseline %s, effect %s [%s, %s] (%.0f%% interval), p=%s",
		shown.of, num(shown.canary), num(shown.baseline), pct(v.Effect), pct(v.EffectLow), pct(v.EffectHigh),
		confidence*100, pval(v.PValue))
	switch {
	case v.Class == High:
		return fmt.Sprintf("%s: higher than the %s tolerated", detail, pct(tol))
	case v.Class == Low:
		return fmt.Sprintf("%s: lower than the %s tolerated", detail, pct(-tol))
	case !significant:
		return detail + ": no significant " + worsening(c.Direction)
	}
	return fmt.Sprintf("%s: significant, but not clearly beyond the ±%.1f%% tolerated", detail, tol*100)
}

// effect is a relative change of the canary against the baseline with its
// confidence interval.
type effect struct {
	of                  string // EffectOfMedian or EffectOfMean
	baseline, canary    float64
	estimate, low, high float64
}

// effectsOf returns the effects defined for the samples, the one that suits
// them first. The median's is the Hodges–Lehmann shift relative to the
// baseline median; it needs a baseline median that is not 0. The mean's is
// the difference of the means relative to the baseline mean, with a normal
// (Welch) interval; it needs a baseline mean that is not 0, and it comes
// first for count-like samples or a baseline median of 0. ok is false when
// the samples are too few for the shift's interval.
func effectsOf(b, k []float64, t mannWhitney, medianB, confidence float64) (effects []effect, ok bool) {
	var byMedian, byMean []effect
	if medianB != 0 {
		low, high, ok := shiftInterval(b, k, t, confidence)
		if !ok {
			return nil, false
		}
		scale := math.Abs(medianB)
		byMedian = []effect{{of: EffectOfMedian, baseline: medianB, canary: median(k),
			estimate: hodgesLehmann(b, k) / scale, low: low / scale, high: high / scale}}
	}
	if meanB := mean(b); meanB != 0 {
		meanK := mean(k)
		diff := meanK - meanB
		se := math.Sqrt(variance(b)/float64(len(b)) + variance(k)/float64(len(k)))
		z := normalQuantile(1 - (1-confidence)/2)
		scale := math.Abs(meanB)
		byMean = []effect{{of: EffectOfMean, baseline: meanB, canary: meanK,
			estimate: diff / scale, low: (diff - z*se) / scale, high: (diff + z*se) / scale}}
	}
	// A location shift describes measurements; counts that are mostly one
	// value (error counters that are mostly 0, latencies stuck on a few
	// histogram buckets) do not shift, they change how often each value
	// occurs, and the order statistics of their differences jump in steps
	// larger than the change.
	if t.tieShare() >= tieHeavyShare || medianB == 0 {
		return append(byMean, byMedian...), true
	}
	return append(byMedian, byMean...), true
}

func worsening(d Direction) string {
	switch d {
	case Increase:
		return "increase"
	case Decrease:
		return "decrease"
	}
	return "change"
}

func classOf(higher bool) Class {
	if higher {
		return High
	}
	return Low
}

// finiteSorted copies the finite values of s, sorted, and counts the rest.
func finiteSorted(s []float64) (out []float64, dropped int) {
	out = make([]float64, 0, len(s))
	for _, x := range s {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			dropped++
			continue
		}
		out = append(out, x)
	}
	slices.Sort(out)
	return out, dropped
}

// median of a sorted, non-empty sample.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1]/2 + s[n/2]/2
}

func mean(s []float64) float64 {
	// Dividing first keeps the sum of values near ±MaxFloat64 finite.
	n := float64(len(s))
	sum := 0.0
	for _, x := range s {
		sum += x / n
	}
	return sum
}

// variance is the sample variance (n−1 denominator).
func variance(s []float64) float64 {
	if len(s) < 2 {
		return 0
	}
	m := mean(s)
	sum := 0.0
	for _, x := range s {
		sum += (x - m) * (x - m)
	}
	return sum / float64(len(s)-1)
}

// finite maps ±Inf to the largest float64 of its sign and NaN to 0.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 0):
		return math.Copysign(math.MaxFloat64, x)
	}
	return x
}

func num(x float64) string  { return fmt.Sprintf("%.4g", x) }
func pct(x float64) string  { return fmt.Sprintf("%+.1f%%", x*100) }
func pval(p float64) string { return fmt.Sprintf("%.3g", p) }
