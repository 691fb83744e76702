// Package judge plays the built-in canary judge end to end on the local
// cluster: examples/11-canary-judge.yaml's experiment step runs a baseline
// and a canary side by side, the pods' request metrics come from the
// traffic simulator (the cluster's pods serve nothing) through a real
// Prometheus, and the judge's verdict decides whether the rollout goes on.
package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	stats "github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

const rollout = "rollouts-demo"

// stand is the example with its Prometheus at a real local one scraping
// the namespace's simulated pod metrics, its minutes made seconds, and its
// pod template declaring MEDIAN_LATENCY (100ms, changed by each test's
// update) for the simulator. Samples: a 15 s window of 1 s steps over 2
// pods per side is up to 30 per side, the 20 asked for once the pods have
// been scraped for a while; the judgement waits 20 s for that.
type stand struct {
	ns       string
	manifest string
	prom     *framework.Prometheus
}

func start(t *testing.T) *stand {
	t.Helper()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	traffic := framework.StartPodTraffic(t, ns)
	prom := framework.StartPrometheusJobs(t, "", map[string][]string{"pods": {traffic.Addr}})
	data, err := os.ReadFile(framework.Example(t, "11-canary-judge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := &stand{ns: ns, prom: prom, manifest: edit(t, string(data),
		"http://prometheus.monitoring.svc:9090", prom.Address,
		"        image: argoproj/rollouts-demo:blue\n", "        image: argoproj/rollouts-demo:blue\n        env:\n        - {name: MEDIAN_LATENCY, value: 100ms}\n",
		"initialDelay: 5m", "initialDelay: 20s",
		"window: 5m", "window: 15s",
		"step: 15s", "step: 1s",
		"[30s]", "[3s]",
		"pause: {duration: 2m}", "pause: {duration: 1s}")}
	s.apply(t, s.manifest)
	framework.Eventually(t, 90*time.Second, "the first version Healthy", func() (bool, string) {
		ro := s.rollout(t)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash, describe(ro)
	})
	return s
}

// update applies the example again with the image and median latency
// given, and returns the name of the experiment step's Experiment.
func (s *stand) update(t *testing.T, image, latency string) string {
	t.Helper()
	stable := s.rollout(t).Status.StableRS
	s.apply(t, edit(t, s.manifest, "rollouts-demo:blue", image, "value: 100ms", "value: "+latency))
	var canary string
	framework.Eventually(t, 30*time.Second, "the update to start", func() (bool, string) {
		ro := s.rollout(t)
		canary = ro.Status.CurrentPodHash
		return canary != stable, describe(ro)
	})
	return fmt.Sprintf("%s-%s-2-1", rollout, canary)
}

func (s *stand) apply(t *testing.T, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", s.ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func (s *stand) rollout(t *testing.T) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(s.ns, rollout), &ro); err != nil {
		t.Fatalf("get rollout: %v", err)
	}
	return &ro
}

// experiment waits until the Experiment satisfies cond.
func (s *stand) experiment(t *testing.T, name string, timeout time.Duration, what string, cond func(*v1alpha1.Experiment) bool) *v1alpha1.Experiment {
	t.Helper()
	var ex v1alpha1.Experiment
	framework.Eventually(t, timeout, what, func() (bool, string) {
		if err := framework.Get(t).Client.Get(context.Background(), framework.Key(s.ns, name), &ex); err != nil {
			return false, err.Error()
		}
		return cond(&ex), fmt.Sprintf("phase %s %q, templates %+v, runs %+v", ex.Status.Phase, ex.Status.Message, ex.Status.TemplateStatuses, ex.Status.AnalysisRuns)
	})
	return &ex
}

// judgement is the experiment's judge measurement and its decoded value.
func (s *stand) judgement(t *testing.T, ex *v1alpha1.Experiment) (v1alpha1.Measurement, stats.Value) {
	t.Helper()
	if len(ex.Status.AnalysisRuns) != 1 {
		t.Fatalf("analysis runs %+v, want the judge's", ex.Status.AnalysisRuns)
	}
	var run v1alpha1.AnalysisRun
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(s.ns, ex.Status.AnalysisRuns[0].AnalysisRun), &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Status.MetricResults) != 1 || len(run.Status.MetricResults[0].Measurements) != 1 {
		t.Fatalf("run %s: results %+v, want one measurement of the judge", run.Name, run.Status.MetricResults)
	}
	m := run.Status.MetricResults[0].Measurements[0]
	var v stats.Value
	if err := json.Unmarshal([]byte(m.Value), &v); err != nil {
		t.Fatalf("measurement %s %q: value %q: %v", m.Phase, m.Message, m.Value, err)
	}
	return m, v
}

// verdicts are v's verdicts by metric.
func verdicts(v stats.Value) map[string]stats.Verdict {
	out := map[string]stats.Verdict{}
	for _, vd := range v.Verdicts {
		out[vd.Metric] = vd
	}
	return out
}

// TestJudgeFailsASlowerCanary: the canary's requests take 20% longer, its
// p95 latency still far below any sensible fixed limit. The judge fails it,
// naming the metric, the medians and the effect, and the update aborts
// back to the stable version.
func TestJudgeFailsASlowerCanary(t *testing.T) {
	t.Parallel()
	s := start(t)
	name := s.update(t, "argoproj/rollouts-demo:yellow", "120ms")
	ex := s.experiment(t, name, 150*time.Second, "the Experiment Failed", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase == v1alpha1.AnalysisPhaseFailed
	})
	m, v := s.judgement(t, ex)
	p95 := verdicts(v)["p95-latency"]
	if m.Phase != v1alpha1.AnalysisPhaseFailed || v.Outcome != stats.OutcomeFail || p95.Class != stats.High {
		t.Fatalf("judgement %s %q: %s; want Failed with p95-latency High", m.Phase, m.Message, m.Value)
	}
	if p95.EffectLow <= 0.1 || p95.Effect < 0.12 || p95.Effect > 0.28 || p95.CanaryMedian <= p95.BaselineMedian {
		t.Errorf("p95-latency %+v: want an effect about +20%%, its interval above the tolerated 10%%", p95)
	}
	// What a fixed threshold would see: every canary sample of the p95
	// under 250 ms.
	if len(v.Samples) != 2 || len(v.Samples[0].Canary) != len(stats.SummaryQuantiles) || v.Samples[0].Canary[len(stats.SummaryQuantiles)-1] >= 0.25 {
		t.Errorf("sample summaries %+v: want the canary's highest p95 under 250 ms", v.Samples)
	}
	if e := verdicts(v)["error-ratio"]; e.Class != stats.Pass {
		t.Errorf("error-ratio %+v: neither side fails requests, want Pass", e)
	}
	for _, part := range []string{"p95-latency High (critical): canary median ", " vs baseline ", ", effect on the median +", "% ["} {
		if !strings.Contains(m.Message, part) {
			t.Errorf("message %q: want %q", m.Message, part)
		}
	}
	framework.Eventually(t, 60*time.Second, "the rollout aborted, naming the judgement", func() (bool, string) {
		ro := s.rollout(t)
		for _, c := range ro.Status.Conditions {
			if c.Type == v1alpha1.RolloutProgressing && c.Reason == v1alpha1.RolloutAbortedReason && ro.Status.Abort &&
				ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && strings.Contains(c.Message, "p95-latency High") {
				t.Logf("aborted: %s", c.Message)
				return true, ""
			}
		}
		return false, describe(ro)
	})
}

// TestJudgePassesAnEqualCanary: a new image serving as fast as the stable
// one passes the judgement, and the update completes.
func TestJudgePassesAnEqualCanary(t *testing.T) {
	t.Parallel()
	s := start(t)
	name := s.update(t, "argoproj/rollouts-demo:green", "100ms")
	ex := s.experiment(t, name, 150*time.Second, "the Experiment Successful", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase.Completed()
	})
	m, v := s.judgement(t, ex)
	if ex.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Phase != v1alpha1.AnalysisPhaseSuccessful || v.Outcome != stats.OutcomePass || len(v.Verdicts) != 2 {
		t.Fatalf("Experiment %s %q; judgement %s %q: %s; want it Successful with two passing verdicts", ex.Status.Phase, ex.Status.Message, m.Phase, m.Message, m.Value)
	}
	for _, vd := range v.Verdicts {
		if vd.Class != stats.Pass || vd.BaselineN < 20 || vd.CanaryN < 20 {
			t.Errorf("verdict %+v: want Pass on at least 20 samples a side", vd)
		}
	}
	if p95 := verdicts(v)["p95-latency"]; p95.Effect < -0.1 || p95.Effect > 0.1 {
		t.Errorf("p95-latency %+v: want an effect near 0", p95)
	}
	framework.Eventually(t, 90*time.Second, "the update complete", func() (bool, string) {
		ro := s.rollout(t)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.Canary.CurrentExperiment == "", describe(ro)
	})
}

func describe(ro *v1alpha1.Rollout) string {
	return fmt.Sprintf("phase %s %q stable %s current %s experiment %q abort %v conditions %+v", ro.Status.Phase, ro.Status.Message,
		ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.Canary.CurrentExperiment, ro.Status.Abort, ro.Status.Conditions)
}

// edit applies each old/new replacement in turn and fails the test when an
// old string is not there (the example has changed).
func edit(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			t.Fatalf("example edit: %q not found", oldNew[i])
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
