package pass

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
)

// VerifiesWeight reports whether the data plane's weights are to be
// checked for ro now (with --aws-verify-target-group): an ALB canary
// during an update, not aborted, at a setWeight step or at the end of its
// steps, where the full weight must be verified before promotion (a
// canary without steps is promoted at weight 0, with nothing to verify).
// As Argo Rollouts, AWS is asked only where the answer decides something.
func VerifiesWeight(ro *v1alpha1.Rollout) bool {
	c := ro.Spec.Strategy.Canary
	w := ro.Status.Canary.Weights
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.ALB == nil || w == nil ||
		ro.Status.StableRS == "" || ro.Status.StableRS == ro.Status.CurrentPodHash || ro.Status.Abort {
		return false
	}
	idx := ro.Status.CurrentStepIndex
	if idx != nil && int(*idx) < len(c.Steps) {
		return c.Steps[*idx].SetWeight != nil
	}
	return len(c.Steps) > 0
}

// TargetsToCheck is the Service whose pods the load balancer must have
// registered before the update goes on, "" when none is to be checked
// now: an ALB canary's stable Service once promoted, while an old
// ReplicaSet still waits to be scaled down; a blue-green active Service
// once switched to the new pods, before post-promotion analysis and
// promotion. (Argo Rollouts' moments for --aws-verify-target-group; the
// shell checks only once the Service selects the new pods.)
func TargetsToCheck(ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet) string {
	switch s := ro.Spec.Strategy; {
	case s.Canary != nil && s.Canary.TrafficRouting != nil && s.Canary.TrafficRouting.ALB != nil:
		if ro.Status.StableRS == "" || ro.Status.StableRS != ro.Status.CurrentPodHash || !oldToScaleDown(sets, ro.Status.StableRS) {
			return ""
		}
		stable, _ := services.ForRouter(ro, true)
		return stable
	case s.BlueGreen != nil:
		if ro.Status.StableRS == ro.Status.CurrentPodHash || ro.Status.BlueGreen.PostPromotionAnalysisRunStatus != nil {
			return ""
		}
		return s.BlueGreen.ActiveService
	}
	return ""
}

// oldToScaleDown reports a ReplicaSet other than the stable one that
// still has pods and no scale-down deadline.
func oldToScaleDown(sets []*appsv1.ReplicaSet, stable string) bool {
	for _, s := range sets {
		if s.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != stable && s.Spec.Replicas != nil && *s.Spec.Replicas > 0 &&
			s.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] == "" {
			return true
		}
	}
	return false
}
