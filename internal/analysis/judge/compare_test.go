package judge

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func repeat(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestCompareOutcomes(t *testing.T) {
	g := newGenerator(42)
	steady := g.lognormal(40, 0.2, 0.05)
	steady2 := g.lognormal(40, 0.2, 0.05)
	slower := g.lognormal(40, 0.24, 0.05) // +20%
	faster := g.lognormal(40, 0.16, 0.05) // −20%
	nudged := g.lognormal(400, 0.204, 0.01)
	nudgedBase := g.lognormal(400, 0.2, 0.01)
	withNaN := append([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}, steady...)
	errorsBase := g.poisson(60, 0.3)
	errorsTriple := g.poisson(60, 0.9)
	someErrors := append(repeat(0, 40), 1, 2, 1, 1, 3, 1, 2, 1, 1, 1)

	cases := []struct {
		name             string
		baseline, canary []float64
		criteria         Criteria
		class            Class
		effectOf         string
		reason           []string // substrings the reason must contain
	}{
		{"an unknown direction", steady, slower, Criteria{Direction: "up"}, NoData, "", []string{`direction "up" is none of`}},
		{"differences beyond float64's range", repeat(-1e308, 40), repeat(1e308, 40), Criteria{}, High, EffectOfMedian, nil},
		{"no samples at all", nil, nil, Criteria{}, NoData, "", []string{"no samples from baseline or canary"}},
		{"baseline without traffic", nil, steady, Criteria{}, NoData, "", []string{"no baseline samples"}},
		{"canary without traffic", steady, nil, Criteria{}, NoData, "", []string{"no canary samples"}},
		{"fewer than the default minimum", steady[:9], steady2, Criteria{}, NoData, "",
			[]string{"9 baseline and 40 canary samples, fewer than the 10 per side needed"}},
		{"fewer than a set minimum", steady, steady2, Criteria{MinSamples: 41}, NoData, "", []string{"fewer than the 41"}},
		{"too few for a 95% interval", steady[:3], slower[:3], Criteria{MinSamples: 1}, NoData, "",
			[]string{"too few for a 95% interval"}},
		{"a one-sided question needs only a 90% interval", steady[:3], slower[:3], Criteria{MinSamples: 1, Direction: Increase},
			Pass, EffectOfMedian, []string{"(90% interval)"}},
		{"NaN and Inf are dropped and counted", withNaN, steady2, Criteria{}, Pass, EffectOfMedian,
			[]string{"dropped 3 NaN/Inf samples: 3 baseline, 0 canary"}},
		{"only NaN in the baseline", []float64{math.NaN(), math.NaN()}, steady, Criteria{}, NoData, "",
			[]string{"no baseline samples", "dropped 2 NaN/Inf"}},
		{"identical constant samples", repeat(0.25, 20), repeat(0.25, 30), Criteria{}, Pass, "",
			[]string{"every baseline and canary sample is 0.25: no change"}},
		{"both sides all zero", repeat(0, 20), repeat(0, 20), Criteria{Direction: Increase}, Pass, "",
			[]string{"every baseline and canary sample is 0"}},
		{"identical samples", steady, steady, Criteria{}, Pass, EffectOfMedian, []string{"no significant change"}},
		{"a drop against a baseline without traffic", repeat(0, 20), steady, Criteria{Direction: Decrease}, NoData, "",
			[]string{"baseline is 0 in every sample: it had no traffic"}},
		{"errors appear where the baseline had none", repeat(0, 50), someErrors, Criteria{Direction: Increase}, High, "",
			[]string{"baseline is 0 in every sample and the canary is higher", "beyond any relative tolerance"}},
		{"one error where the baseline had none", repeat(0, 50), append(repeat(0, 49), 1), Criteria{Direction: Increase}, Pass, "",
			[]string{"no significant increase"}},
		{"latency 20% higher", steady, slower, Criteria{Direction: Increase}, High, EffectOfMedian,
			[]string{"canary median 0.24", "vs baseline 0.2", "higher than the +5.0% tolerated"}},
		{"latency 20% lower is no harm when higher is worse", steady, faster, Criteria{Direction: Increase}, Pass, EffectOfMedian,
			[]string{"no significant increase"}},
		{"throughput 20% lower", steady, faster, Criteria{Direction: Decrease}, Low, EffectOfMedian,
			[]string{"lower than the -5.0% tolerated"}},
		{"either direction: higher", steady, slower, Criteria{}, High, EffectOfMedian, []string{"(95% interval)"}},
		{"either direction: lower", steady, faster, Criteria{}, Low, EffectOfMedian, nil},
		{"a certain 2% change is within the default tolerance", nudgedBase, nudged, Criteria{Direction: Increase}, Pass, EffectOfMedian,
			[]string{"significant, but not clearly beyond the ±5.0% tolerated"}},
		{"a negative tolerance tolerates nothing", nudgedBase, nudged, Criteria{Direction: Increase, Tolerance: -1}, High, EffectOfMedian,
			[]string{"higher than the +0.0% tolerated"}},
		{"a wide tolerance passes 20%", steady, slower, Criteria{Direction: Increase, Tolerance: 0.5}, Pass, EffectOfMedian,
			[]string{"not clearly beyond the ±50.0% tolerated"}},
		{"error counts three times as frequent over a mostly-zero baseline", errorsBase, errorsTriple, Criteria{Direction: Increase}, High, EffectOfMean,
			[]string{"canary mean", "higher than the +5.0% tolerated"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Compare("m", c.baseline, c.canary, c.criteria)
			if v.Class != c.class || v.EffectOf != c.effectOf {
				t.Errorf("class %s effect of %q, want %s of %q: %s", v.Class, v.EffectOf, c.class, c.effectOf, v.Reason)
			}
			for _, want := range c.reason {
				if !strings.Contains(v.Reason, want) {
					t.Errorf("reason %q does not say %q", v.Reason, want)
				}
			}
			if v.Class == High && !(v.Effect > 0 || v.EffectOf == "") || v.Class == Low && !(v.Effect < 0) {
				t.Errorf("class %s with effect %v", v.Class, v.Effect)
			}
			if v.EffectOf != "" && !(v.EffectLow <= v.Effect && v.Effect <= v.EffectHigh) {
				t.Errorf("effect %v outside its interval [%v, %v]", v.Effect, v.EffectLow, v.EffectHigh)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Errorf("verdict does not encode: %v", err)
			}
		})
	}
}

func TestCompareFillsTheVerdict(t *testing.T) {
	base := []float64{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110}
	canary := []float64{121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131}
	v := Compare("p95-latency", base, canary, Criteria{Direction: Increase, Critical: true, Weight: 2})
	if v.Metric != "p95-latency" || !v.Critical || v.Weight != 2 || v.BaselineN != 11 || v.CanaryN != 11 {
		t.Errorf("identity fields: %+v", v)
	}
	if v.BaselineMedian != 105 || v.CanaryMedian != 126 {
		t.Errorf("medians %v and %v, want 105 and 126", v.BaselineMedian, v.CanaryMedian)
	}
	// Hodges–Lehmann: the median of the 121 differences of a shift by 21
	// is 21, relative to the baseline median 105.
	if math.Abs(v.Effect-0.2) > 1e-12 {
		t.Errorf("effect %v, want 21/105 = 0.2", v.Effect)
	}
	if v.Confidence != 0.9 || v.PValue <= 0 || v.PValue >= Alpha {
		t.Errorf("confidence %v p %v", v.Confidence, v.PValue)
	}
	raw, _ := json.Marshal(v)
	for _, key := range []string{`"metric":`, `"class":"High"`, `"baselineMedian":105`, `"canaryMedian":126`, `"effect":0.2`,
		`"effectLow":`, `"effectHigh":`, `"pValue":`, `"baselineN":11`, `"canaryN":11`, `"critical":true`, `"reason":`, `"effectOf":"median"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("JSON %s lacks %s", raw, key)
		}
	}
}
