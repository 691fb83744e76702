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

// pair is one metric's samples: baseline and canary.
type pair struct{ baseline, canary []float64 }

// scenario is a judgement repeated over fresh samples: one metric, or
// latency and errors together.
type scenario struct {
	name     string
	criteria Criteria
	draw     func(g generator) []pair
	// The share of judgements not passing must be at most (or at least)
	// bound.
	atMost bool
	bound  float64
	// also checks what else the scenario must show.
	also func(t tally) string
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

// run judges each trial's metrics as a whole judgement (default
// thresholds): a trial fails unless the outcome is Pass.
func (s scenario) run(seed uint64) tally {
	g := newGenerator(seed)
	t := tally{trials: qualityTrials, classes: map[Class]int{}, effectOf: map[string]int{}}
	for i := 0; i < qualityTrials; i++ {
		var verdicts []Verdict
		for _, p := range s.draw(g) {
			v := Compare(s.name, p.baseline, p.canary, s.criteria)
			t.classes[v.Class]++
			t.effectOf[v.EffectOf]++
			verdicts = append(verdicts, v)
		}
		if Judge(verdicts, Thresholds{}).Outcome != OutcomePass {
			t.failed++
		}
	}
	return t
}

// latency are the criteria of every scenario: higher is worse, critical,
// the default tolerance (5%) and minimum samples (10).
var latency = Criteria{Direction: Increase, Critical: true}

func lognormals(n int, sigma, shift float64) func(g generator) []pair {
	return func(g generator) []pair {
		return []pair{{g.lognormal(n, 0.2, sigma), g.lognormal(n, 0.2*shift, sigma)}}
	}
}

func onlyNoData(t tally) string {
	if t.classes[NoData] != t.trials {
		return fmt.Sprintf("want NoData every time, got %v", t.classes)
	}
	return ""
}

func TestQuality(t *testing.T) {
	calm := [4]float64{0.6, 0.3, 0.1, 0}
	scenarios := []scenario{
		// A/A: the same distribution on both sides must rarely fail.
		{name: "A/A latency σ0.1 n50", draw: lognormals(50, 0.1, 1), atMost: true, bound: 0.05},
		{name: "A/A latency σ0.1 n50 either direction", criteria: Criteria{Critical: true}, draw: lognormals(50, 0.1, 1), atMost: true, bound: 0.05},
		{name: "A/A errors Poisson 0.3 n50", draw: func(g generator) []pair {
			return []pair{{g.poisson(50, 0.3), g.poisson(50, 0.3)}}
		}, atMost: true, bound: 0.05},
		{name: "A/A latency and errors together", draw: func(g generator) []pair {
			return []pair{{g.lognormal(50, 0.2, 0.1), g.lognormal(50, 0.2, 0.1)}, {g.poisson(50, 0.3), g.poisson(50, 0.3)}}
		}, atMost: true, bound: 0.05},

		// A 10% (and 20%) shift of the median latency, 50 samples a side.
		{name: "latency +10% σ0.05 n50", draw: lognormals(50, 0.05, 1.1), bound: 0.95},
		{name: "latency +20% σ0.1 n50", draw: lognormals(50, 0.1, 1.2), bound: 0.95},
		// Noisier samples need a larger shift or more samples.
		{name: "latency +10% σ0.1 n50", draw: lognormals(50, 0.1, 1.1), bound: 0.95},
		{name: "latency +10% σ0.1 n200", draw: lognormals(200, 0.1, 1.1), bound: 0.95},
		{name: "latency +20% σ0.2 n50", draw: lognormals(50, 0.2, 1.2), bound: 0.95},
		// Within tolerance: a 2% shift is no failure, however certain.
		{name: "latency +2% σ0.02 n200 (within tolerance)", draw: lognormals(200, 0.02, 1.02), atMost: true, bound: 0.05},

		// Errors three times as frequent over a baseline that is mostly 0.
		{name: "errors ×3 over Poisson 0.3 n50", draw: func(g generator) []pair {
			return []pair{{g.poisson(50, 0.3), g.poisson(50, 0.9)}}
		}, bound: 0.95, also: func(t tally) string {
			if t.effectOf[EffectOfMean] != t.trials {
				return fmt.Sprintf("want the mean's effect every time, got %v", t.effectOf)
			}
			return ""
		}},

		// Tie-heavy: latencies on four histogram bucket bounds.
		{name: "A/A tie-heavy buckets n50", draw: func(g generator) []pair {
			return []pair{{g.buckets(50, calm), g.buckets(50, calm)}}
		}, atMost: true, bound: 0.05},
		{name: "tie-heavy buckets shift up n100", draw: func(g generator) []pair {
			return []pair{{g.buckets(100, calm), g.buckets(100, [4]float64{0.4, 0.4, 0.15, 0.05})}}
		}, bound: 0.8},

		// Bimodal: 30% or 50% slow requests, then the slow mode grows.
		{name: "A/A bimodal 30% slow n50", draw: func(g generator) []pair {
			return []pair{{g.bimodal(50, 0.3), g.bimodal(50, 0.3)}}
		}, atMost: true, bound: 0.05},
		{name: "A/A bimodal 50% slow n50", draw: func(g generator) []pair {
			return []pair{{g.bimodal(50, 0.5), g.bimodal(50, 0.5)}}
		}, atMost: true, bound: 0.05},
		{name: "bimodal slow 30%→50% n100", draw: func(g generator) []pair {
			return []pair{{g.bimodal(100, 0.3), g.bimodal(100, 0.5)}}
		}, bound: 0.7, also: func(t tally) string {
			if t.effectOf[EffectOfMean] == 0 {
				return fmt.Sprintf("the growth of the slow mode was never judged on the mean: %v", t.effectOf)
			}
			return ""
		}},

		// Too few samples and no baseline traffic: NoData every time,
		// which fails a critical metric.
		{name: "sparse: 5 samples a side", draw: lognormals(5, 0.1, 1), bound: 1, also: onlyNoData},
		{name: "baseline without traffic (NaN samples)", draw: func(g generator) []pair {
			return []pair{{repeat(math.NaN(), 50), g.lognormal(50, 0.2, 0.1)}}
		}, bound: 1, also: onlyNoData},
	}
	var summary []string
	for i, s := range scenarios {
		if s.criteria == (Criteria{}) {
			s.criteria = latency
		}
		got := s.run(uint64(i + 1))
		t.Logf("%-45s %s", s.name+":", got)
		summary = append(summary, fmt.Sprintf("%s %.1f%%", s.name, 100*got.rate()))
		switch {
		case s.atMost && got.rate() > s.bound:
			t.Errorf("%s: %s; want at most %.0f%%", s.name, got, 100*s.bound)
		case !s.atMost && got.rate() < s.bound:
			t.Errorf("%s: %s; want at least %.0f%%", s.name, got, 100*s.bound)
		}
		if s.also != nil {
			if msg := s.also(got); msg != "" {
				t.Errorf("%s: %s", s.name, msg)
			}
		}
	}
	t.Logf("SUMMARY judge quality (%d trials each, share of judgements not passing): %s",
		qualityTrials, strings.Join(summary, "; "))
}
