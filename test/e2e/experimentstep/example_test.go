package experimentstep

import (
	"os"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestExample09: examples/09-experiment-step.yaml as users apply it, with
// its Prometheus address pointed at a real local Prometheus scraping a
// stand-in for the two versions' request metrics, and its minutes made
// seconds. The experiment step's baseline and canary run behind their
// Services, the comparison passes, and the update completes.
func TestExample09(t *testing.T) {
	ns := scoped(t)
	data, err := os.ReadFile(framework.Example(t, "09-experiment-step.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	traffic := framework.StartHashTraffic(t)
	prom := framework.StartPrometheus(t, traffic.Addr)
	apply(t, ns, edit(t, string(data),
		"http://prometheus.monitoring.svc:9090", prom.Address,
		"duration: 10m", "duration: 20s",
		"initialDelay: 1m", "initialDelay: 5s",
		"interval: 1m", "interval: 3s",
		"[2m]", "[10s]",
		"pause: {duration: 2m}", "pause: {duration: 1s}"))
	const name = "rollouts-demo"
	stable := healthy(t, ns, name)
	framework.SetRolloutImage(t, ns, name, "argoproj/rollouts-demo:green")
	ro := waitRollout(t, ns, name, 30*time.Second, "the update to start", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.CurrentPodHash != stable
	})
	canary := ro.Status.CurrentPodHash
	traffic.Serve(templateHash(t, ns, stable), 0.002)
	traffic.Serve(templateHash(t, ns, canary), 0.004)
	ex := name + "-" + canary + "-2-1"
	waitExperiment(t, ns, ex, 90*time.Second, "the step's Experiment Running behind its Services", func(e *v1alpha1.Experiment) bool {
		ok := e.Status.Phase == v1alpha1.AnalysisPhaseRunning && len(e.Status.TemplateStatuses) == 2
		for _, ts := range e.Status.TemplateStatuses {
			ok = ok && ts.ServiceName == ex+"-"+ts.Name
		}
		return ok
	})
	waitExperiment(t, ns, ex, 90*time.Second, "the Experiment Successful", func(e *v1alpha1.Experiment) bool {
		ok := e.Status.Phase == v1alpha1.AnalysisPhaseSuccessful && len(e.Status.AnalysisRuns) == 1 &&
			e.Status.AnalysisRuns[0].Phase == v1alpha1.AnalysisPhaseSuccessful
		for _, ts := range e.Status.TemplateStatuses {
			ok = ok && ts.Status == v1alpha1.TemplateStatusSuccessful
		}
		return ok
	})
	waitRollout(t, ns, name, 90*time.Second, "the update complete", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == canary
	})
}
