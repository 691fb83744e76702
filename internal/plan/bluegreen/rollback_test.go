package bluegreen

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

func TestRollbackWithinWindowSkipsAnalysisAndPause(t *testing.T) {
	for _, within := range []bool{true, false} {
		ro := updating(func(bg *v1alpha1.BlueGreenStrategy) {
			bg.PrePromotionAnalysis, bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}, &v1alpha1.RolloutAnalysis{}
			bg.AutoPromotionEnabled = new(false)
		})
		ro.Status.CurrentPodHash = "old" // the template goes back to "new", an older ReplicaSet
		obs := seen(0, 0, "old")
		obs.RollbackWithinWindow = within
		p := step(ro, obs, t0)
		window := false
		for _, e := range p.Events {
			window = window || (e.Reason == rules.ReasonSkipSteps && e.Message == rules.RollbackWithinWindowMessage)
		}
		if !within {
			if window || p.Status.PromoteFull {
				t.Fatalf("outside the window: an update like any other: %+v", p)
			}
			continue
		}
		if !window || !p.Status.PromoteFull || p.NewReplicas != 3 || p.Runs != (Runs{}) {
			t.Fatalf("within the window: SkipSteps, promoteFull, full size, no runs: %+v", p)
		}
		p = step(ro, seen(3, 3, "old"), t0)
		if p.Active != "new" || p.Runs != (Runs{}) || len(p.Status.PauseConditions) != 0 {
			t.Fatalf("switch at once, no analysis, no pause: %+v", p)
		}
		p = step(ro, seen(3, 3, "new"), t0)
		if p.Status.StableRS != "new" || p.Runs != (Runs{}) || p.Status.PromoteFull {
			t.Fatalf("stable at once: %+v", p)
		}
	}
}
