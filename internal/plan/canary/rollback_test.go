package canary

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

func TestRollbackWithinWindowSkipsStepsAndAnalysis(t *testing.T) {
	ro := midUpdate(4) // completed at "old"
	ro.Status.CurrentPodHash = "old"
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "bg"}}}}
	o := obs(false)
	o.NewHash, o.RollbackWithinWindow = "older", true
	p := Advance(ro, o, t0)
	if *p.Status.CurrentStepIndex != 4 || !p.Status.PromoteFull || !hasEvent(p, rules.ReasonSkipSteps, rules.RollbackWithinWindowMessage) || p.Runs != (Runs{}) {
		t.Fatalf("rollback within the window: index %d promoteFull %v events %v runs %+v", *p.Status.CurrentStepIndex, p.Status.PromoteFull, p.Events, p.Runs)
	}
	// Next passes: no steps, no runs, until the old ReplicaSet is whole.
	ro.Status = p.Status
	if p = Advance(ro, o, t0); p.Runs != (Runs{}) || p.Status.StableRS != "old" || len(p.Status.PauseConditions) != 0 {
		t.Fatalf("on the way: runs %+v stable %q pauses %v", p.Runs, p.Status.StableRS, p.Status.PauseConditions)
	}
	o.AtDesiredReplicas = true
	ro.Status = p.Status
	if p = Advance(ro, o, t0); p.Status.StableRS != "older" || p.Status.PromoteFull || !hasEvent(p, rules.ReasonCompleted, "") {
		t.Fatalf("completion: stable %q promoteFull %v events %v", p.Status.StableRS, p.Status.PromoteFull, p.Events)
	}

	// Outside the window the rollback is an update like any other.
	ro = midUpdate(4)
	ro.Status.CurrentPodHash = "old"
	o = obs(false)
	o.NewHash = "older"
	if p = Advance(ro, o, t0); *p.Status.CurrentStepIndex != 0 || p.Status.PromoteFull || hasEvent(p, rules.ReasonSkipSteps, "") {
		t.Fatalf("outside the window: index %d promoteFull %v events %v", *p.Status.CurrentStepIndex, p.Status.PromoteFull, p.Events)
	}
}
