package scaledown

import (
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// ForRollout plans the scale-down of a Rollout's old ReplicaSets (PlanOld)
// for a traffic-routed canary and for blue-green, from the status as
// decided: the previous stable waits out scaleDownDelaySeconds, recorded
// in its deadline annotation, abandoned intermediate ReplicaSets go at
// once, and a ReplicaSet a router or Service still sends requests to is
// never scaled down. A basic canary scales its old ReplicaSets with the
// others (replicas.Desired), so nothing is planned here for it.
func ForRollout(ro *v1alpha1.Rollout, rs roles.Roles, now time.Time) OldPlan {
	if len(rs.Others) == 0 {
		return OldPlan{}
	}
	in := Old{Now: now, FullyPromoted: ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash,
		Delay: ro.ScaleDownDelaySecondsOrDefault()}
	var referenced func(hash string) bool
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		in.RevisionLimit, in.MaxScaleDown = bg.ScaleDownDelayRevisionLimit, math.MaxInt32
		referenced = func(hash string) bool {
			return hash == ro.Status.BlueGreen.ActiveSelector || hash == ro.Status.BlueGreen.PreviewSelector
		}
	} else {
		c, err := replicas.CanaryFromRollout(ro)
		if err != nil || !c.TrafficRouted {
			return OldPlan{}
		}
		in.DynamicStableScale, in.RevisionLimit = c.DynamicStableScale, ro.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit
		var available int32
		for _, set := range rs.All() {
			available += set.Status.AvailableReplicas
		}
		in.MaxScaleDown = available - (c.Replicas - c.Fenceposts.MaxUnavailable)
		weights := ro.Status.Canary.Weights
		referenced = func(hash string) bool {
			return weights != nil && (weights.Canary.PodTemplateHash == hash && weights.Canary.Weight > 0 || weights.Stable.PodTemplateHash == hash && weights.Stable.Weight > 0)
		}
	}
	for _, o := range rs.Others {
		mark, _ := MarkOf(o.Annotations)
		hash := o.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		in.Sets = append(in.Sets, OldRS{RS: *replicas.FromReplicaSet(o), Deadline: mark, Referenced: referenced(hash)})
	}
	return PlanOld(in)
}

// ForAbortedNew plans abortScaleDownDelaySeconds for the new ReplicaSet of
// ro (status as decided), desired being the size replicas.Desired gave it:
// once the stable is fully available a scale-down deadline is written, and
// the ReplicaSet keeps its pods until then, so a router still draining
// requests to them is not cut off.
func ForAbortedNew(ro *v1alpha1.Rollout, rs roles.Roles, desired int32, now time.Time) NewPlan {
	mark, _ := MarkOf(rs.New.Annotations)
	stableFull := rs.Stable != nil && rs.Stable.Status.AvailableReplicas >= ro.ReplicasOrDefault()
	return PlanNew(NewRS{Now: now, Policy: AbortPolicyOf(ro), Aborted: ro.Status.Abort,
		HasStable: rs.Stable != nil, StableFullyAvailable: stableFull, Deadline: mark, Desired: desired})
}

// HeldNew reports whether ForAbortedNew applies: a new ReplicaSet beside a
// separate stable one, being sized this reconcile.
func HeldNew(rs roles.Roles, scales map[*appsv1.ReplicaSet]int32) bool {
	if rs.New == nil || rs.New == rs.Stable {
		return false
	}
	_, sized := scales[rs.New]
	return sized
}
