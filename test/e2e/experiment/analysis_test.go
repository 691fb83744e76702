package experiment

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/localprom"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// comparison fails when the canary's error ratio exceeds the baseline's by
// more than 5 points, both read from framework.HashTraffic's counters by the
// pod-template hashes the Experiment passes as args.
const comparison = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: compare
spec:
  args:
  - name: baseline-hash
  - name: canary-hash
  metrics:
  - name: error-ratio-difference
    initialDelay: 10s
    interval: 3s
    COUNT
    failureLimit: 0
    successCondition: result[0] <= 0.05
    provider:
      prometheus:
        address: ADDRESS
        query: >+
          ` + framework.ErrorRatioDifference + "\n"

// analysed is twoTemplates with the comparison as an analysis.
const analysed = `  analyses:
  - name: compare
    templateName: compare
    REQUIRED
    args:
    - name: baseline-hash
      value: "{{templates.baseline.podTemplateHash}}"
    - name: canary-hash
      value: "{{ templates.canary.podTemplateHash }}"
`

// serveTemplates waits for the Experiment's ReplicaSets and counts
// traffic for their hashes with the given error ratios; it returns the
// hashes by template.
func serveTemplates(t *testing.T, tr *framework.HashTraffic, ns, experiment string, ratios map[string]float64) map[string]string {
	t.Helper()
	hashes := map[string]string{}
	framework.Eventually(t, 60*time.Second, "the ReplicaSets of "+experiment, func() (bool, string) {
		all := replicaSets(t, ns)
		for tmpl := range ratios {
			rs, ok := all[experiment+"-"+tmpl]
			if !ok {
				return false, "no ReplicaSet for " + tmpl
			}
			hashes[tmpl] = rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		}
		return true, ""
	})
	for tmpl, r := range ratios {
		tr.Serve(hashes[tmpl], r)
	}
	return hashes
}

// startPrometheus runs a real Prometheus scraping the given exporters.
func startPrometheus(t *testing.T, targets ...string) *localprom.Server {
	t.Helper()
	srv, err := localprom.Start(context.Background(), localprom.Options{Dir: t.TempDir(), Listen: framework.FreeAddr(t), Targets: targets})
	if err != nil {
		t.Fatalf("start Prometheus: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func experimentWithAnalysis(name, canaryImage, duration, count string, required bool) string {
	m := replace(twoTemplates, "NAME", name, "CANARY", canaryImage, "  duration: DURATION\n", durationLine(duration))
	req := ""
	if required {
		req = "requiredForCompletion: true"
	}
	return m + replace(analysed, "REQUIRED", req) + "---\n" + replace(comparison, "COUNT", count)
}

func durationLine(d string) string {
	if d == "" {
		return ""
	}
	return "  duration: " + d + "\n"
}

// TestAnalysisComparesTemplates: a 30 s Experiment with a Prometheus
// analysis comparing the canary with the baseline through their
// pod-template hashes runs Running → Successful; the analysis (no count:
// it measures until stopped) is terminated at the end, and the
// ReplicaSets are scaled to 0 after the scale-down delay.
func TestAnalysisComparesTemplates(t *testing.T) {
	ns, _ := scoped(t)
	m := experimentWithAnalysis("exp", "argoproj/rollouts-demo:yellow", "30s", "", false)
	tr := framework.StartHashTraffic(t)
	prom := startPrometheus(t, tr.Addr)
	apply(t, ns, strings.ReplaceAll(m, "ADDRESS", prom.Address))
	hashes := serveTemplates(t, tr, ns, "exp", map[string]float64{"baseline": 0, "canary": 0})

	ex := waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseRunning, 60*time.Second)
	framework.Eventually(t, 30*time.Second, "the analysis to run", func() (bool, string) {
		ex = getExperiment(t, ns, "exp")
		return len(ex.Status.AnalysisRuns) == 1 && ex.Status.AnalysisRuns[0].Phase == v1alpha1.AnalysisPhaseRunning, describe(ex)
	})
	run := getRun(t, ns, ex.Status.AnalysisRuns[0].AnalysisRun)
	if run.Name != "exp-compare" || !hasArg(run, "canary-hash", hashes["canary"]) || !hasArg(run, "baseline-hash", hashes["baseline"]) {
		t.Fatalf("run %s args %+v", run.Name, run.Spec.Args)
	}
	ex = waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseSuccessful, 90*time.Second)
	if took := ex.Status.Conditions; len(took) == 0 {
		t.Errorf("no conditions: %s", describe(ex))
	}
	waitScaledDown(t, ns, 30*time.Second, "exp-baseline", "exp-canary")
	framework.Eventually(t, 30*time.Second, "the analysis terminated and recorded", func() (bool, string) {
		run = getRun(t, ns, "exp-compare")
		ex = getExperiment(t, ns, "exp")
		return run.Spec.Terminate && run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful &&
			ex.Status.AnalysisRuns[0].Phase == v1alpha1.AnalysisPhaseSuccessful, describe(ex)
	})
	if c := condition(ex, v1alpha1.ExperimentProgressing); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ExperimentCompleted" {
		t.Errorf("Progressing condition: %+v", c)
	}
}

// TestRequiredAnalysis: without a duration an Experiment ends when its
// required analysis ends: Successful when the canary is as good as the
// baseline, Failed with the run's
// message when it is worse.
func TestRequiredAnalysis(t *testing.T) {
	ns, _ := scoped(t)
	good := experimentWithAnalysis("good", "argoproj/rollouts-demo:yellow", "", "count: 2", true)
	bad := experimentWithAnalysis("bad", "argoproj/rollouts-demo:red", "", "count: 3", true)
	bad = strings.Replace(bad, "name: compare\nspec:", "name: compare-bad\nspec:", 1)
	bad = strings.Replace(bad, "templateName: compare\n", "templateName: compare-bad\n", 1)
	tr := framework.StartHashTraffic(t)
	prom := startPrometheus(t, tr.Addr)
	apply(t, ns, strings.ReplaceAll(good, "ADDRESS", prom.Address))
	apply(t, ns, strings.ReplaceAll(bad, "ADDRESS", prom.Address))
	serveTemplates(t, tr, ns, "good", map[string]float64{"baseline": 0, "canary": 0})
	serveTemplates(t, tr, ns, "bad", map[string]float64{"baseline": 0, "canary": 0.5})

	ex := waitForPhase(t, ns, "good", v1alpha1.AnalysisPhaseSuccessful, 120*time.Second)
	// The phase is the analyses' (Successful, no message, as Argo Rollouts
	// writes it when nothing else is pending).
	if ex.Status.AnalysisRuns[0].Phase != v1alpha1.AnalysisPhaseSuccessful || ex.Status.AvailableAt == nil {
		t.Errorf("good: %s", describe(ex))
	}
	ex = waitForPhase(t, ns, "bad", v1alpha1.AnalysisPhaseFailed, 120*time.Second)
	if r := ex.Status.AnalysisRuns[0]; r.Phase != v1alpha1.AnalysisPhaseFailed || ex.Status.Message != r.Message || r.Message == "" {
		t.Errorf("bad: %s", describe(ex))
	}
	waitScaledDown(t, ns, 30*time.Second, "good-baseline", "good-canary", "bad-baseline", "bad-canary")
}

func condition(ex *v1alpha1.Experiment, typ v1alpha1.ExperimentConditionType) *v1alpha1.ExperimentCondition {
	for i := range ex.Status.Conditions {
		if ex.Status.Conditions[i].Type == typ {
			return &ex.Status.Conditions[i]
		}
	}
	return nil
}

func getRun(t *testing.T, ns, name string) *v1alpha1.AnalysisRun {
	t.Helper()
	var run v1alpha1.AnalysisRun
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &run); err != nil {
		t.Fatalf("get AnalysisRun %s: %v", name, err)
	}
	return &run
}

func hasArg(run *v1alpha1.AnalysisRun, name, value string) bool {
	for _, a := range run.Spec.Args {
		if a.Name == name && a.Value != nil && *a.Value == value {
			return true
		}
	}
	return false
}
