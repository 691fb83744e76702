package bluegreen

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRollbackWindowSkipsAnalysisAndPause: with rollbackWindow.revisions 1,
// going back to the previous version after its ReplicaSet was scaled down
// (so no fast rollback by scale-down delay) is fast-tracked anyway, as in
// Argo Rollouts: SkipSteps "Rollback to active ReplicaSets within
// RollbackWindow", no pre-promotion run, no BlueGreenPause although
// autoPromotionEnabled is false.
func TestRollbackWindowSkipsAnalysisAndPause(t *testing.T) {
	f := newFixture(t, "web", 2)
	m := strings.Replace(manifest("autoPromotionEnabled: false", "prePromotionAnalysis:\n  templates: [{templateName: smoke-ready}]"),
		"  replicas: 2\n", "  replicas: 2\n  rollbackWindow: {revisions: 1}\n", 1)
	blue := f.deploy(m)
	f.update()
	f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)
	f.patchStatus(promotePatch)
	f.until(90*time.Second, "green promoted, blue scaled to 0 after its delay", func(s snapshot) bool {
		return f.promoted(s) && s.rs[blue].spec == 0
	})
	preRuns := len(f.snap().runsOf(v1alpha1.RolloutTypePrePromotionLabel))

	framework.SetRolloutImage(t, f.ns, f.name, "argoproj/rollouts-demo:blue")
	s := f.until(90*time.Second, "back on blue without a pause", func(s snapshot) bool {
		st := s.ro.Status
		return s.current() && st.CurrentPodHash == blue && st.StableRS == blue && s.active == blue &&
			st.Phase == v1alpha1.RolloutPhaseHealthy && s.rs[blue].available == 2 && len(st.PauseConditions) == 0
	})
	if n := len(s.runsOf(v1alpha1.RolloutTypePrePromotionLabel)); n != preRuns {
		t.Errorf("the rollback within the window ran pre-promotion analysis: %s", s)
	}
	if msgs := eventMessages(t, f.ns, "SkipSteps"); !slices.Contains(msgs, "Rollback to active ReplicaSets within RollbackWindow") {
		t.Errorf("SkipSteps events %q, want the rollback within the window", msgs)
	}
}
