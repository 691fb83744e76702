package rollout

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

// desiredScales is the replica count each ReplicaSet should have now, and
// whether the new and stable ReplicaSets are already at the counts the
// current step calls for (sizes reached, pods available, nothing left on
// other ReplicaSets).
func desiredScales(ro *v1alpha1.Rollout, rs roles) (map[*appsv1.ReplicaSet]int32, bool) {
	c, err := replicas.CanaryFromRollout(ro)
	if err != nil {
		// Bad maxSurge/maxUnavailable: validation reports it; scale nothing.
		return nil, false
	}
	sets := replicas.ReplicaSets{New: replicas.FromReplicaSet(rs.newRS), Stable: replicas.FromReplicaSet(rs.stableRS)}
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.others {
		sets.Others = append(sets.Others, *replicas.FromReplicaSet(o))
		byName[o.Name] = o
	}
	weights := ro.Status.Canary.Weights
	counts := c.DesiredCounts(sets, weights)
	out := map[*appsv1.ReplicaSet]int32{}
	if rs.newRS != nil {
		out[rs.newRS] = counts.Canary
	}
	if rs.stableRS != nil && rs.stableRS != rs.newRS {
		out[rs.stableRS] = counts.Stable
	}
	for _, s := range replicas.BasicCanaryOtherScaleDowns(c.Replicas, c.Fenceposts.MaxUnavailable, sets) {
		if o := byName[s.Name]; o != nil {
			out[o] = s.Replicas
		}
	}
	if rs.stableRS == nil || rs.stableRS == rs.newRS {
		// One ReplicaSet carries everything (first deploy, or fully
		// promoted): done when all its pods are up and nothing else serves.
		at := rs.newRS != nil && specReplicas(rs.newRS) == counts.Canary && rs.newRS.Status.AvailableReplicas >= counts.Canary
		for _, o := range rs.others {
			at = at && o.Status.AvailableReplicas == 0
		}
		return out, at
	}
	return out, c.AtDesiredReplicaCounts(sets, weights)
}

func specReplicas(rs *appsv1.ReplicaSet) int32 { return ptrVal(rs.Spec.Replicas) }
