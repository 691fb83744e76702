package bluegreen

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// flakyTemplate is smoke-flaky: its Job fails (state fail) or passes
// (state ready), so a test can fix it between an abort and a retry.
func flakyTemplate(state string) string {
	return strings.Replace(strings.ReplaceAll(smokeTemplate, "STATE", state), "name: smoke-"+state, "name: smoke-flaky", 1)
}

// TestRetryAfterFailedPrePromotionStartsAFreshRun: the pre-promotion run
// fails and the rollout aborts; the template is fixed and the user retries
// (`kubectl argo rollouts retry rollout`). The retry must start a new
// pre-promotion run — the failed one belongs to the aborted attempt and
// must not abort the retry at once — and the update completes.
func TestRetryAfterFailedPrePromotionStartsAFreshRun(t *testing.T) {
	f := newFixture(t, "web", 2)
	applyYAML(t, f.ns, flakyTemplate("fail"))
	f.deploy(manifest("prePromotionAnalysis:\n  templates: [{templateName: smoke-flaky}]"))
	green := f.update()
	s := f.until(90*time.Second, "aborted by the failed pre-promotion run", func(s snapshot) bool {
		st := s.ro.Status
		r := st.BlueGreen.PrePromotionAnalysisRunStatus
		return s.current() && st.Phase == v1alpha1.RolloutPhaseDegraded && st.Abort && strings.HasPrefix(st.Message, abortedMessage) &&
			r != nil && r.Status == v1alpha1.AnalysisPhaseFailed
	})
	failed := s.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus.Name

	applyYAML(t, f.ns, flakyTemplate("ready"))
	f.patchStatus(retryPatch)
	f.holds(3*time.Second, "the retry not aborted again by the old run", func(s snapshot) bool {
		return !s.ro.Status.Abort
	})
	s = f.until(90*time.Second, "the retry's own pre-promotion run passed and the update completed", func(s snapshot) bool {
		st := s.ro.Status
		return f.promoted(s) && st.StableRS == green
	})
	pre := s.runsOf(v1alpha1.RolloutTypePrePromotionLabel)
	var fresh []string
	for _, r := range pre {
		if r.name != failed && r.phase == v1alpha1.AnalysisPhaseSuccessful {
			fresh = append(fresh, r.name)
		}
	}
	if len(fresh) != 1 {
		t.Errorf("want the failed pre-promotion run %s and one new Successful one: %s", failed, s)
	}
}
