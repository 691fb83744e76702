package replicas

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// Desired is the replica count each of a canary Rollout's ReplicaSets
// should have now, and whether the new and stable ReplicaSets are already at
// the counts the current step calls for (sizes reached, pods available,
// nothing left on other ReplicaSets). A bad maxSurge/maxUnavailable sizes
// nothing: validation reports it.
func Desired(ro *v1alpha1.Rollout, rs roles.Roles) (map[*appsv1.ReplicaSet]int32, bool) {
	c, err := CanaryFromRollout(ro)
	if err != nil {
		return nil, false
	}
	sets := ReplicaSets{New: FromReplicaSet(rs.New), Stable: FromReplicaSet(rs.Stable)}
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.Others {
		sets.Others = append(sets.Others, *FromReplicaSet(o))
		byName[o.Name] = o
	}
	weights := ro.Status.Canary.Weights
	counts := c.DesiredCounts(sets, weights)
	out := map[*appsv1.ReplicaSet]int32{}
	if rs.New != nil {
		out[rs.New] = counts.Canary
	}
	if rs.Stable != nil && rs.Stable != rs.New {
		out[rs.Stable] = counts.Stable
	}
	if c.TrafficRouted {
		// Old ReplicaSets wait out scaleDownDelaySeconds (the router may
		// still be draining traffic to them): scaledown.ForRollout.
		for _, o := range rs.Others {
			out[o] = roles.SpecReplicas(o)
		}
	} else {
		for _, s := range BasicCanaryOtherScaleDowns(c.Replicas, c.Fenceposts.MaxUnavailable, sets) {
			if o := byName[s.Name]; o != nil {
				out[o] = s.Replicas
			}
		}
	}
	if rs.Stable == nil || rs.Stable == rs.New {
		// One ReplicaSet carries everything (first deploy, or fully
		// promoted): done when all its pods are up and nothing else serves.
		at := rs.New != nil && roles.SpecReplicas(rs.New) == counts.Canary && rs.New.Status.AvailableReplicas >= counts.Canary
		for _, o := range rs.Others {
			at = at && o.Status.AvailableReplicas == 0
		}
		return out, at
	}
	return out, c.AtDesiredReplicaCounts(sets, weights)
}
