package judge

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	pass := func(name string) Verdict { return Verdict{Metric: name, Class: Pass, Reason: "fine"} }
	high := Verdict{Metric: "p95-latency", Class: High, BaselineMedian: 0.2, CanaryMedian: 0.24,
		Reason: "canary median 0.24 vs baseline 0.2, effect +20.0% [+15.0%, +25.0%] (90% interval), p=0.0001: higher than the +5.0% tolerated"}
	critical := func(v Verdict) Verdict { v.Critical = true; return v }
	weighted := func(v Verdict, w float64) Verdict { v.Weight = w; return v }
	noData := Verdict{Metric: "errors", Class: NoData, Reason: "no canary samples"}

	cases := []struct {
		name       string
		verdicts   []Verdict
		thresholds Thresholds
		score      float64
		outcome    string
		reason     []string
	}{
		{"nothing judged", nil, Thresholds{}, 0, OutcomeFail, []string{"no metrics were judged"}},
		{"all pass", []Verdict{pass("a"), pass("b")}, Thresholds{}, 100, OutcomePass,
			[]string{"score 100 reaches pass 95: all 2 metrics pass"}},
		{"one of four fails: marginal by default", []Verdict{pass("a"), pass("b"), pass("c"), high}, Thresholds{}, 75, OutcomeMarginal,
			[]string{"score 75 is below pass 95 but reaches marginal 75", "p95-latency High: canary median 0.24 vs baseline 0.2, effect +20.0% [+15.0%, +25.0%]"}},
		{"one of three fails: below marginal", []Verdict{pass("a"), pass("b"), high}, Thresholds{}, 100.0 * 2 / 3, OutcomeFail,
			[]string{"score 67 is below marginal 75"}},
		{"weights count", []Verdict{weighted(pass("a"), 9), high}, Thresholds{}, 90, OutcomeMarginal, nil},
		{"a zero weight counts as 1", []Verdict{weighted(pass("a"), 0), high}, Thresholds{}, 50, OutcomeFail, nil},
		{"custom thresholds", []Verdict{weighted(pass("a"), 9), high}, Thresholds{Pass: 90, Marginal: 50}, 90, OutcomePass, nil},
		{"a marginal threshold above pass is lowered to it", []Verdict{weighted(pass("a"), 9), high}, Thresholds{Pass: 95, Marginal: 99}, 90, OutcomeFail,
			[]string{"below marginal 95"}},
		{"a critical metric failing fails a high score", []Verdict{weighted(pass("a"), 99), critical(high)}, Thresholds{}, 99, OutcomeFail,
			[]string{"critical metric p95-latency did not pass; score 99", "p95-latency High: canary median 0.24"}},
		{"a critical metric without data fails", []Verdict{weighted(pass("a"), 99), critical(noData)}, Thresholds{}, 99, OutcomeFail,
			[]string{"critical metric errors did not pass", "errors NoData: no canary samples"}},
		{"NoData counts against the score", []Verdict{pass("a"), noData}, Thresholds{}, 50, OutcomeFail,
			[]string{"errors NoData"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Judge(c.verdicts, c.thresholds)
			if j.Outcome != c.outcome || j.Score < c.score-1e-9 || j.Score > c.score+1e-9 {
				t.Errorf("score %v outcome %s, want %v %s: %s", j.Score, j.Outcome, c.score, c.outcome, j.Reason)
			}
			for _, want := range c.reason {
				if !strings.Contains(j.Reason, want) {
					t.Errorf("reason %q does not say %q", j.Reason, want)
				}
			}
			if len(j.Verdicts) != len(c.verdicts) {
				t.Errorf("%d verdicts kept of %d", len(j.Verdicts), len(c.verdicts))
			}
			if _, err := json.Marshal(j); err != nil {
				t.Errorf("judgement does not encode: %v", err)
			}
		})
	}
}

// Compare and Judge together, as the judge provider uses them: a canary
// whose latency is 20% worse fails and the reason names the metric, both
// medians and the effect with its interval.
func TestJudgeComparedMetrics(t *testing.T) {
	g := newGenerator(5)
	j := Judge([]Verdict{
		Compare("p95-latency", g.lognormal(60, 0.2, 0.05), g.lognormal(60, 0.24, 0.05), Criteria{Direction: Increase, Critical: true}),
		Compare("errors", g.poisson(60, 0.3), g.poisson(60, 0.3), Criteria{Direction: Increase}),
	}, Thresholds{})
	if j.Outcome != OutcomeFail {
		t.Fatalf("outcome %s: %s", j.Outcome, j.Reason)
	}
	for _, want := range []string{"critical metric p95-latency did not pass", "p95-latency High: canary median 0.2", "vs baseline 0.", "effect +", "(90% interval)"} {
		if !strings.Contains(j.Reason, want) {
			t.Errorf("reason %q does not say %q", j.Reason, want)
		}
	}
	if strings.Contains(j.Reason, "errors") {
		t.Errorf("reason names the passing metric: %s", j.Reason)
	}
}
