package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// flakyTemplate is smoke-flaky: its Job fails (state fail) or passes
// (state ready), so a test can fix it between an abort and a retry.
func flakyTemplate(state string) string {
	return strings.Replace(strings.ReplaceAll(smokeTemplate, "STATE", state), "name: smoke-"+state, "name: smoke-flaky", 1)
}

// startFlakyRollout applies the templates and the analysed rollout with
// the given step and background templates (smoke-<name>), smoke-flaky
// failing; it sets the new image and waits for the abort.
func startFlakyRollout(t *testing.T, step, background string) string {
	t.Helper()
	ns, _ := scoped(t)
	apply(t, ns, flakyTemplate("fail"))
	ns = startAnalysedRolloutIn(t, ns, step, background)
	framework.Eventually(t, 90*time.Second, "aborted by the failing smoke-flaky run", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && ro.Status.AbortedAt != nil, describeRollout(t, ns)
	})
	return ns
}

// retryFixed fixes smoke-flaky, retries (`kubectl argo rollouts retry
// rollout`) and checks the retry is not aborted again by the aborted
// attempt's runs; it returns the names of the runs that existed before.
func retryFixed(t *testing.T, ns string) map[string]bool {
	t.Helper()
	before := map[string]bool{}
	for _, run := range runs(t, ns) {
		before[run.Name] = true
	}
	apply(t, ns, flakyTemplate("ready"))
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":false}}`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ro := rollout(t, ns); ro.Status.Abort {
			t.Fatalf("the retry was aborted again: %s", describeRollout(t, ns))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return before
}

// TestRetryAfterFailedAnalysisStepStartsAFreshRun: the analysis step's run
// fails and the rollout aborts; after the template is fixed, a retry runs
// the step again with a new run (the failed one belongs to the aborted
// attempt) and the update completes.
func TestRetryAfterFailedAnalysisStepStartsAFreshRun(t *testing.T) {
	ns := startFlakyRollout(t, "flaky", "ready")
	before := retryFixed(t, ns)
	framework.Eventually(t, 90*time.Second, "the update completed after the retry", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && !ro.Status.Abort &&
			ro.Spec.Template.Spec.Containers[0].Image == "argoproj/rollouts-demo:green", describeRollout(t, ns)
	})
	fresh := 0
	for _, run := range runs(t, ns) {
		if !before[run.Name] && run.Labels[v1alpha1.RolloutTypeLabel] == v1alpha1.RolloutTypeStepLabel && run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("want one new Successful step run after the retry: %s", describeRollout(t, ns))
	}
}

// TestRetryAfterFailedBackgroundAnalysisStartsAFreshRun: the background
// run fails and the rollout aborts; after the template is fixed, a retry
// starts a new background run instead of being aborted by the old one.
func TestRetryAfterFailedBackgroundAnalysisStartsAFreshRun(t *testing.T) {
	ns := startFlakyRollout(t, "hold", "flaky")
	before := retryFixed(t, ns)
	framework.Eventually(t, 60*time.Second, "a new background run passed, the rollout not aborted", func() (bool, string) {
		ro := rollout(t, ns)
		for _, run := range runs(t, ns) {
			if !before[run.Name] && run.Labels[v1alpha1.RolloutTypeLabel] == v1alpha1.RolloutTypeBackgroundRunLabel &&
				run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful && !ro.Status.Abort {
				return true, ""
			}
		}
		return false, describeRollout(t, ns)
	})
}
