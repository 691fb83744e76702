package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const judgedRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: judged
spec:
  replicas: 1
  selector:
    matchLabels: {app: judged}
  template:
    metadata:
      labels: {app: judged}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:green"}]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
`

// slowerCanary is the judgement of a canary 20% slower than its baseline:
// the p95 latency High (critical); the error ratio, mostly 0 and so
// judged on the mean, passing; the request rate with no baseline samples.
var slowerCanary = judge.Value{
	Judgement: judge.Judgement{Score: 33.33, Outcome: judge.OutcomeFail, Reason: "critical metric p95-latency did not pass; score 33 is below marginal 75",
		Verdicts: []judge.Verdict{
			{Metric: "p95-latency", Class: judge.High, BaselineMedian: 0.1043, CanaryMedian: 0.1251, Effect: 0.1995, EffectLow: 0.1712, EffectHigh: 0.2288,
				EffectOf: judge.EffectOfMedian, Confidence: 0.95, PValue: 3.1e-12, BaselineN: 60, CanaryN: 58, Critical: true,
				Reason: "canary median 0.1251 vs baseline 0.1043, effect +20.0% [+17.1%, +22.9%] (95% interval), p=3.1e-12: higher than the +10.0% tolerated"},
			{Metric: "error-ratio", Class: judge.Pass, Effect: 0.08, EffectLow: -0.4, EffectHigh: 0.61, EffectOf: judge.EffectOfMean, Confidence: 0.95,
				PValue: 0.71, BaselineN: 60, CanaryN: 60},
			{Metric: "rps", Class: judge.NoData, CanaryN: 60, Reason: "no baseline samples (no traffic to compare against, or the query matches nothing)"},
		}},
	Samples: []judge.Summary{
		{Baseline: judge.Summarize(spread(0.1043, 0.01, 60)), Canary: judge.Summarize(spread(0.1251, 0.012, 58))},
		{Baseline: judge.Summarize(make([]float64, 60)), Canary: judge.Summarize(append(make([]float64, 57), 1, 2, 1))},
		{Baseline: nil, Canary: judge.Summarize(spread(50, 5, 60))},
	},
}

// spread is n values evenly over median±width.
func spread(median, width float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = median - width + 2*width*float64(i)/float64(n-1)
	}
	return out
}

// judgedObjects writes a Rollout and, owned by it, a background
// AnalysisRun whose one metric is the canary judge, with the failed
// judgement as its measurement (no controller or Prometheus: the status is
// what the judge leaves). It returns the run.
func judgedObjects(t *testing.T, ns string) *v1alpha1.AnalysisRun {
	t.Helper()
	ro := applyRollout(t, ns, "judged", judgedRollout)
	const stable, canary = "6d4f8c7b5", "7c9b5d6f8"
	framework.PatchRolloutStatus(t, ns, "judged", fmt.Sprintf(`{"status":{"stableRS":%q,"currentPodHash":%q,"currentStepIndex":1,"phase":"Progressing"}}`, stable, canary))
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "judged-" + canary + "-2", Namespace: ns,
			Labels:          map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeBackgroundRunLabel},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "2"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))}},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "judge", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{
			judge.PluginKey: json.RawMessage(`{"prometheus":{"address":"http://prometheus.invalid"},"baseline":"` + stable + `","canary":"` + canary + `","metrics":[{"name":"p95-latency","query":"q"}]}`),
		}}}}},
	}
	if err := framework.Get(t).Client.Create(context.Background(), run); err != nil {
		t.Fatalf("create AnalysisRun %s: %v", run.Name, err)
	}
	patchJudgement(t, run, v1alpha1.AnalysisPhaseFailed, measurementJSON(t, v1alpha1.AnalysisPhaseFailed, "2026-01-01T00:00:30Z", slowerCanary))
	return run
}

func measurementJSON(t *testing.T, phase v1alpha1.AnalysisPhase, at string, v judge.Value) string {
	t.Helper()
	value, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{"phase":%q,"value":%s,"message":"judged","startedAt":%q,"finishedAt":%q}`, phase, strconv.Quote(string(value)), at, at)
}

// patchJudgement sets the run's one metric result to the measurements
// given, the last deciding the phase.
func patchJudgement(t *testing.T, run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, measurements ...string) {
	t.Helper()
	counts := map[string]int{}
	for _, m := range measurements {
		switch {
		case strings.HasPrefix(m, `{"phase":"Failed"`):
			counts["failed"]++
		case strings.HasPrefix(m, `{"phase":"Successful"`):
			counts["successful"]++
		}
	}
	status := fmt.Sprintf(`{"status":{"phase":%q,"startedAt":"2026-01-01T00:00:00Z","metricResults":[{"name":"judge","phase":%q,"count":%d,"successful":%d,"failed":%d,"measurements":[%s]}]}}`,
		phase, phase, len(measurements), counts["successful"], counts["failed"], strings.Join(measurements, ","))
	patchRunStatus(t, run, status)
}

// TestDashboardJudgement: a judge metric's run shows the judgement — its
// outcome and score, each compared metric's class, medians, effect with
// its interval, p-value and samples in text — and draws each metric's
// baseline and canary distributions from their quantiles: the canary's
// box to the right of the baseline's for a slower canary, the band of the
// effect's interval around the canary's median, a side with no samples
// said to have none. A later judgement reaches the open page in place.
// `get rollout` shows the same verdicts from the same run.
func TestDashboardJudgement(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	run := judgedObjects(t, ns)
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)

	url := d.URL + "/rollout/" + ns + "/judged"
	b.open(url, "[data-testid=analysisrun]")
	b.markPage()
	metric := `[data-testid=metric][data-metric=judge]`
	j := metric + ` [data-testid=judgement]`
	b.waitFor(pageTimeout, "the judgement", func() (bool, string) { return b.count(j) == 1, b.describe() })
	if got := b.attr(j, "data-outcome"); got != "Fail" {
		t.Errorf("outcome %q, want Fail", got)
	}
	if got := b.text(j + " .judgement-head [data-field=score]"); got != "score 33.33" {
		t.Errorf("judgement score %q, want score 33.33", got)
	}
	if n := b.count(metric + " [data-testid=metric-chart]"); n != 0 {
		t.Errorf("%d charts over time for the judge metric, whose values are not numbers; want the judgement drawn instead", n)
	}
	if got := b.attrs(j+" [data-testid=verdict]", "data-metric"); strings.Join(got, ",") != "p95-latency,error-ratio,rps" {
		t.Errorf("verdicts %v, want the three in the judge's order", got)
	}

	// The failing metric, in words.
	p95 := j + ` [data-testid=verdict][data-metric=p95-latency]`
	for field, want := range map[string]string{
		"class":           "High",
		"baseline-median": "0.1043",
		"canary-median":   "0.1251",
		"effect":          "+20.0% [+17.1%, +22.9%] on the median (95% interval)",
		"p-value":         "3.1e-12",
		"samples":         "60 baseline, 58 canary",
	} {
		if got := b.text(fmt.Sprintf("%s [data-field=%s]", p95, field)); got != want {
			t.Errorf("p95-latency %s %q, want %q", field, got, want)
		}
	}
	if got := b.text(p95 + " .tag"); got != "critical" {
		t.Errorf("p95-latency tag %q, want critical", got)
	}

	// And drawn: both sides, the canary's median right of the baseline's,
	// the effect's band around the canary's median.
	svg := p95 + ` svg[data-testid=distributions]`
	if got := b.attr(svg, "role"); got != "img" {
		t.Errorf("distributions role %q, want img", got)
	}
	if label := b.attr(svg, "aria-label"); !strings.Contains(label, "baseline median 0.1043") || !strings.Contains(label, "canary median 0.1251") {
		t.Errorf("distributions label %q, want both medians", label)
	}
	for _, side := range []string{"baseline", "canary"} {
		g := fmt.Sprintf("%s [data-testid=dist-%s]", svg, side)
		if n := b.count(g + " rect.box"); n != 1 || b.count(g+" line.median") != 1 || b.count(g+" line.whisker") != 1 || b.count(g+" line.range") != 1 {
			t.Errorf("%s: want a box, a median, a whisker and a range; page: %s", side, b.describe())
		}
		if title := b.text(g + " title"); !strings.Contains(title, side+": ") || !strings.Contains(title, "median 0.1") {
			t.Errorf("%s title %q, want the quantiles in words", side, title)
		}
	}
	x := func(sel, attr string) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(b.attr(sel, attr), 64)
		if err != nil {
			t.Fatalf("%s %s: %v", sel, attr, err)
		}
		return f
	}
	baseX, canaryX := x(svg+" [data-testid=dist-baseline] line.median", "x1"), x(svg+" [data-testid=dist-canary] line.median", "x1")
	if canaryX <= baseX {
		t.Errorf("canary median at x=%v, not right of the baseline's at %v", canaryX, baseX)
	}
	if ref := x(svg+" [data-testid=baseline-median]", "x1"); ref != baseX {
		t.Errorf("baseline median line at x=%v, the baseline's median at %v", ref, baseX)
	}
	band := svg + " [data-testid=effect-band]"
	if lo, w := x(band, "x"), x(band, "width"); lo > canaryX || lo+w < canaryX || lo <= baseX {
		t.Errorf("effect band %v..%v: want it around the canary's median at %v and clear of the baseline's at %v", lo, lo+w, canaryX, baseX)
	}

	// An effect on the mean has no band on this scale; a side with no
	// samples is said to have none, the other still drawn.
	errs := j + ` [data-testid=verdict][data-metric=error-ratio]`
	if got := b.text(errs + " [data-field=effect]"); got != "+8.0% [-40.0%, +61.0%] on the mean (95% interval)" {
		t.Errorf("error-ratio effect %q", got)
	}
	if n := b.count(errs + " [data-testid=effect-band]"); n != 0 {
		t.Errorf("error-ratio has %d effect bands, want none (its effect is on the mean)", n)
	}
	rps := j + ` [data-testid=verdict][data-metric=rps]`
	if got := b.text(rps + " [data-field=class]"); got != "NoData" {
		t.Errorf("rps class %q", got)
	}
	if got := b.text(rps + " [data-field=reason]"); !strings.HasPrefix(got, "no baseline samples") {
		t.Errorf("rps reason %q", got)
	}
	if b.attr(rps+" [data-testid=dist-baseline]", "data-empty") != "true" || b.count(rps+" [data-testid=dist-canary] rect.box") != 1 {
		t.Errorf("rps: want the baseline said to have no samples and the canary drawn; page: %s", b.describe())
	}
	if n := b.count(rps + " [data-field=baseline-median]"); n != 0 {
		t.Errorf("rps NoData shows %d medians, want none", n)
	}

	// The measurements table sums the value up.
	b.click(metric + " details summary")
	b.waitFor(pageTimeout, "the measurements table", func() (bool, string) {
		return b.visible(metric+" table.measurements") == 1, b.describe()
	})
	if got := b.text(metric + " table.measurements tbody tr td:nth-child(3)"); got != "Fail, score 33.33" {
		t.Errorf("measurement value cell %q, want the outcome and score", got)
	}

	b.screenshots("judgement", url, j)

	// The same run as `get rollout` prints it.
	bin, err := cliBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--kubeconfig", framework.Get(t).Kubeconfig, "-n", ns, "get", "rollout", "judged", "--no-color").CombinedOutput()
	if err != nil {
		t.Fatalf("get rollout: %v\n%s", err, out)
	}
	for _, want := range []string{
		"α " + run.Name + " ",
		"└──⚖ judge ",
		"≶ p95-latency ",
		"✖ High ",
		"critical,baseline:0.1043,canary:0.1251,effect:+20.0%[+17.1%..+22.9%],p:3.1e-12,n:60/58",
		"effect(mean):+8.0%[-40.0%..+61.0%],p:0.71,n:60/60",
		"⚠ NoData ",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("get rollout lacks %q:\n%s", want, out)
		}
	}

	// A later judgement that passes replaces the drawing in place.
	pass := judge.Value{Judgement: judge.Judgement{Score: 100, Outcome: judge.OutcomePass, Verdicts: []judge.Verdict{
		{Metric: "p95-latency", Class: judge.Pass, BaselineMedian: 0.1043, CanaryMedian: 0.1049, Effect: 0.006, EffectLow: -0.01, EffectHigh: 0.02,
			EffectOf: judge.EffectOfMedian, Confidence: 0.95, PValue: 0.44, BaselineN: 60, CanaryN: 60},
	}}, Samples: []judge.Summary{{Baseline: judge.Summarize(spread(0.1043, 0.01, 60)), Canary: judge.Summarize(spread(0.1049, 0.01, 60))}}}
	b.open(url, j)
	b.markPage()
	patchJudgement(t, run, v1alpha1.AnalysisPhaseSuccessful,
		measurementJSON(t, v1alpha1.AnalysisPhaseFailed, "2026-01-01T00:00:30Z", slowerCanary),
		measurementJSON(t, v1alpha1.AnalysisPhaseSuccessful, "2026-01-01T00:01:00Z", pass))
	b.waitFor(pageTimeout, "the passing judgement", func() (bool, string) {
		return b.attr(j, "data-outcome") == "Pass" && b.count(j+" [data-testid=verdict]") == 1, b.describe()
	})
	if got := b.text(j + " [data-testid=verdict][data-metric=p95-latency] [data-field=effect]"); got != "+0.6% [-1.0%, +2.0%] on the median (95% interval)" {
		t.Errorf("p95-latency effect after the update %q", got)
	}
	if !b.kept() {
		t.Error("the page reloaded; it should update in place")
	}
}
