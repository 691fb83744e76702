package judge

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	got := Summarize([]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11})
	want := []Number{1, 2, 3.5, 6, 8.5, 10, 11}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quantiles %v, want %v", got, want)
	}
	if got := Summarize([]float64{math.Inf(1), 2, math.NaN()}); fmt.Sprint(got) != fmt.Sprint([]Number{2, 2, 2, 2, 2, 2, 2}) {
		t.Errorf("one finite sample: quantiles %v, want it alone", got)
	}
	if Summarize(nil) != nil {
		t.Error("no samples: want no quantiles")
	}
}

func TestNumberJSON(t *testing.T) {
	b, err := json.Marshal([]Number{Number(math.Inf(1)), 0.000123456, 1234567})
	if err != nil || string(b) != "[null,0.0001235,1.235e+06]" {
		t.Errorf("numbers %s, %v: want null for an infinity, four digits otherwise", b, err)
	}
	var back []Number
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back[0])) || back[1] != 0.0001235 || back[2] != 1.235e+06 {
		t.Errorf("read back %v, %v: want NaN for null and the numbers written", back, err)
	}
}

// TestParseValue: a judgement as the provider writes it reads back; JSON
// that is not a judgement (another plugin's value, a shrunk value's lost
// outcome) is refused, so nothing else is shown as a verdict.
func TestParseValue(t *testing.T) {
	written := Value{
		Judgement: Judgement{Score: 50, Outcome: OutcomeFail, Reason: "score 50 is below marginal 75", Verdicts: []Verdict{
			{Metric: "p95", Class: High, BaselineMedian: 0.1, CanaryMedian: 0.12, Effect: 0.2, EffectLow: 0.15, EffectHigh: 0.25,
				EffectOf: EffectOfMedian, Confidence: 0.95, PValue: 1e-6, BaselineN: 60, CanaryN: 60, Critical: true},
			{Metric: "errors", Class: Pass, BaselineN: 60, CanaryN: 60},
		}},
		Samples: []Summary{{Baseline: Summarize([]float64{0.09, 0.1, 0.11}), Canary: Summarize([]float64{0.11, 0.12, 0.13})}, {}},
	}
	b, err := json.Marshal(written)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseValue(string(b))
	if err != nil {
		t.Fatalf("ParseValue(%s): %v", b, err)
	}
	if got.Outcome != OutcomeFail || len(got.Verdicts) != 2 || got.Verdicts[0] != written.Verdicts[0] ||
		len(got.Samples) != 2 || got.Samples[0].Canary[3] != 0.12 || got.Samples[1].Canary != nil {
		t.Errorf("read back %+v from %s", got, b)
	}
	for _, bad := range []struct{ value, want string }{
		{`[0.97]`, "cannot unmarshal array"},
		{`{"status":"ok"}`, `outcome ""`},
		{`{"outcome":"Maybe","score":3}`, `outcome "Maybe"`},
		{``, "unexpected end"},
	} {
		if _, err := ParseValue(bad.value); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseValue(%q): %v, want an error with %q", bad.value, err, bad.want)
		}
	}
}
