package judge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The judge's statistical quality on generated data. Every scenario has
// its own fixed PCG seed, so the figures are the same on every run; they
// are printed (go test -v -run Quality) and kept in docs/analysis.md.
//
// The data model: latency samples (one per pod and query step, such as a
// p95 over 30 s) are lognormal around their median with spread σ (σ = 0.1
// is about 10% between samples); error samples are Poisson counts per
// sample, mostly 0 (mean 0.3: 74% zeros); tie-heavy latencies fall on
// four histogram bucket bounds; bimodal latencies mix a fast (10 ms) and a
// slow (100 ms) mode.

const qualityTrials = 1000

type generator struct{ r *rand.Rand }

func newGenerator(seed uint64) generator { return generator{rand.New(rand.NewPCG(seed, 2024))} }

func (g generator) lognormal(n int, median, sigma float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = median * math.Exp(g.r.NormFloat64()*sigma)
	}
	return s
}

// poisson draws by counting uniform products above e^−λ (Knuth), which is
// exact and fast for the small means used here.
func (g generator) poisson(n int, lambda float64) []float64 {
	s := make([]float64, n)
	limit := math.Exp(-lambda)
	for i := range s {
		k, p := 0, g.r.Float64()
		for p > limit {
			k++
			p *= g.r.Float64()
		}
		s[i] = float64(k)
	}
	return s
}

// buckets draws from the bucket bounds 0.1, 0.25, 0.5 and 1 s with the
// given probabilities.
func (g generator) buckets(n int, probs [4]float64) []float64 {
	bounds := [4]float64{0.1, 0.25, 0.5, 1}
	s := make([]float64, n)
	for i := range s {
		x, j := g.r.Float64(), 0
		for j < 3 && x >= probs[j] {
			x -= probs[j]
			j++
		}
		s[i] = bounds[j]
	}
	return s
}

// bimodal mixes 10 ms and 100 ms modes (σ 0.1 each), slow being the share
// of the slow mode.
func (g generator) bimodal(n int, slow float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		m := 0.010
		if g.r.Float64() < slow {
			m = 0.100
		}
		s[i] = m * math.Exp(g.r.NormFloat64()*0.1)
	}
	return s
}

// scenario is one metric's comparison repeated over fresh samples.
type scenario struct {
	name     string
	seed     uint64
	criteria Criteria
	draw     func(g generator) (baseline, canary []float64)
}

type tally struct {
	trials, failed int
	classes        map[Class]int
	effectOf       map[string]int
}

func (t tally) rate() float64 { return float64(t.failed) / float64(t.trials) }

func (t tally) String() string {
	return fmt.Sprintf("judgement failed %d of %d (%.1f%%); classes %v; effect of %v",
		t.failed, t.trials, 100*t.rate(), t.classes, t.effectOf)
}

// run judges each trial's single metric as a whole judgement (default
// thresholds): a trial fails unless the outcome is Pass.
func (s scenario) run() tally {
	g := newGenerator(s.seed)
	t := tally{trials: qualityTrials, classes: map[Class]int{}, effectOf: map[string]int{}}
	for i := 0; i < qualityTrials; i++ {
		b, c := s.draw(g)
		v := Compare(s.name, b, c, s.criteria)
		t.classes[v.Class]++
		t.effectOf[v.EffectOf]++
		if Judge([]Verdict{v}, Thresholds{}).Outcome != OutcomePass {
			t.failed++
		}
	}
	return t
}

var latency = Criteria{Direction: Increase, Critical: true}

func TestQuality(t *testing.T) {
	var summary []string
	check := func(s scenario, ok func(tally) bool, bound string) tally {
		t.Helper()
		got := s.run()
		t.Logf("%-52s %s", s.name+":", got)
		summary = append(summary, fmt.Sprintf("%s %.1f%%", s.name, 100*got.rate()))
		if !ok(got) {
			t.Errorf("%s: %s, want %s", s.name, got, bound)
		}
		return got
	}
	atMost := func(r float64) func(tally) bool { return func(t tally) bool { return t.rate() <= r } }
	atLeast := func(r float64) func(tally) bool { return func(t tally) bool { return t.rate() >= r } }

	// A/A: the same distribution on both sides must rarely fail.
	check(scenario{"A/A latency σ0.1 n50", 1, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.2, 0.1)
	}}, atMost(0.05), "≤ 5%")
	check(scenario{"A/A latency σ0.1 n50 either direction", 2, Criteria{Critical: true}, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.2, 0.1)
	}}, atMost(0.05), "≤ 5%")
	check(scenario{"A/A errors Poisson 0.3 n50", 3, latency, func(g generator) ([]float64, []float64) {
		return g.poisson(50, 0.3), g.poisson(50, 0.3)
	}}, atMost(0.05), "≤ 5%")

	// The whole judgement of both metrics, each critical, on A/A data.
	g := newGenerator(18)
	failed := 0
	for i := 0; i < qualityTrials; i++ {
		j := Judge([]Verdict{
			Compare("p95-latency", g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.2, 0.1), latency),
			Compare("errors", g.poisson(50, 0.3), g.poisson(50, 0.3), latency),
		}, Thresholds{})
		if j.Outcome != OutcomePass {
			failed++
		}
	}
	t.Logf("%-52s judgement failed %d of %d (%.1f%%)", "A/A latency and errors, both critical:", failed, qualityTrials, 100*float64(failed)/qualityTrials)
	summary = append(summary, fmt.Sprintf("A/A latency and errors %.1f%%", 100*float64(failed)/qualityTrials))
	if failed > qualityTrials/20 {
		t.Errorf("A/A judgement of latency and errors failed %d of %d, want ≤ 5%%", failed, qualityTrials)
	}

	// A 10% (and 20%) shift of the median latency, 50 samples a side.
	check(scenario{"latency +10% σ0.05 n50", 4, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.05), g.lognormal(50, 0.22, 0.05)
	}}, atLeast(0.95), "≥ 95%")
	check(scenario{"latency +20% σ0.1 n50", 5, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.24, 0.1)
	}}, atLeast(0.95), "≥ 95%")
	// Noisier samples need a larger shift or more samples; these figures
	// are printed for the docs and bounded loosely.
	check(scenario{"latency +10% σ0.1 n50", 6, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.22, 0.1)
	}}, atLeast(0.6), "≥ 60%")
	check(scenario{"latency +10% σ0.1 n200", 7, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(200, 0.2, 0.1), g.lognormal(200, 0.22, 0.1)
	}}, atLeast(0.95), "≥ 95%")
	check(scenario{"latency +20% σ0.2 n50", 8, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(50, 0.2, 0.2), g.lognormal(50, 0.24, 0.2)
	}}, atLeast(0.8), "≥ 80%")
	// Within tolerance: a 2% shift is not a failure, however certain.
	check(scenario{"latency +2% σ0.02 n200 (within tolerance)", 9, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(200, 0.2, 0.02), g.lognormal(200, 0.204, 0.02)
	}}, atMost(0.05), "≤ 5%")

	// Error counts three times as frequent over a baseline that is mostly 0.
	errs := check(scenario{"errors ×3 over Poisson 0.3 n50", 10, latency, func(g generator) ([]float64, []float64) {
		return g.poisson(50, 0.3), g.poisson(50, 0.9)
	}}, atLeast(0.95), "≥ 95%")
	if errs.effectOf[EffectOfMean] != qualityTrials {
		t.Errorf("zero-inflated errors judged on %v, want the mean every time", errs.effectOf)
	}

	// Tie-heavy: latencies on four bucket bounds.
	calm := [4]float64{0.6, 0.3, 0.1, 0}
	check(scenario{"A/A tie-heavy buckets n50", 11, latency, func(g generator) ([]float64, []float64) {
		return g.buckets(50, calm), g.buckets(50, calm)
	}}, atMost(0.05), "≤ 5%")
	check(scenario{"tie-heavy buckets shift up n100", 12, latency, func(g generator) ([]float64, []float64) {
		return g.buckets(100, calm), g.buckets(100, [4]float64{0.4, 0.4, 0.15, 0.05})
	}}, atLeast(0.8), "≥ 80%")

	// Bimodal: 30% slow requests; then half.
	check(scenario{"A/A bimodal 30% slow n50", 13, latency, func(g generator) ([]float64, []float64) {
		return g.bimodal(50, 0.3), g.bimodal(50, 0.3)
	}}, atMost(0.05), "≤ 5%")
	check(scenario{"A/A bimodal 50% slow n50", 14, latency, func(g generator) ([]float64, []float64) {
		return g.bimodal(50, 0.5), g.bimodal(50, 0.5)
	}}, atMost(0.05), "≤ 5%")
	bi := check(scenario{"bimodal slow 30%→50% n100", 15, latency, func(g generator) ([]float64, []float64) {
		return g.bimodal(100, 0.3), g.bimodal(100, 0.5)
	}}, atLeast(0.7), "≥ 70%")
	if bi.effectOf[EffectOfMean] == 0 {
		t.Errorf("bimodal growth of the slow mode never judged on the mean: %v", bi.effectOf)
	}

	// Too few samples and no baseline traffic: NoData every time, which
	// fails a critical metric.
	sparse := check(scenario{"sparse: 5 samples a side", 16, latency, func(g generator) ([]float64, []float64) {
		return g.lognormal(5, 0.2, 0.1), g.lognormal(5, 0.2, 0.1)
	}}, atLeast(1), "100%")
	empty := check(scenario{"baseline without traffic (NaN samples)", 17, latency, func(g generator) ([]float64, []float64) {
		nan := make([]float64, 50)
		for i := range nan {
			nan[i] = math.NaN()
		}
		return nan, g.lognormal(50, 0.2, 0.1)
	}}, atLeast(1), "100%")
	for _, tl := range []tally{sparse, empty} {
		if tl.classes[NoData] != qualityTrials {
			t.Errorf("expected NoData every time, got %v", tl.classes)
		}
	}

	t.Logf("SUMMARY judge quality (%d trials each, share of judgements not passing): %s",
		qualityTrials, strings.Join(summary, "; "))
}
