package rollout

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/steps"
)

// desiredScales is the replica count each ReplicaSet should have now (only
// those that must change need acting on), and whether the new and stable
// ReplicaSets already have the counts the current step calls for.
func desiredScales(ro *v1alpha1.Rollout, rs roles) (map[*appsv1.ReplicaSet]int32, bool) {
	sets := replicas.ReplicaSets{New: replicas.FromReplicaSet(rs.newRS), Stable: replicas.FromReplicaSet(rs.stableRS)}
	for _, o := range rs.others {
		sets.Others = append(sets.Others, *replicas.FromReplicaSet(o))
	}
	n := ro.ReplicasOrDefault()
	fp, err := replicas.CanaryFenceposts(n, ro.MaxSurgeOrDefault(), ro.MaxUnavailableOrDefault())
	if err != nil {
		// Validation reports bad maxSurge/maxUnavailable; scale nothing.
		return nil, false
	}
	weight := steps.SetWeight(ro)
	if ro.Status.StableRS == "" || ro.Status.StableRS == ro.Status.CurrentPodHash || ro.Status.PromoteFull {
		weight = ro.MaxTrafficWeight()
	}
	counts := replicas.BasicCanaryCounts(replicas.BasicCanary{
		Replicas: n, Weight: weight, MaxWeight: ro.MaxTrafficWeight(), Fenceposts: fp, Sets: sets,
	})
	out := map[*appsv1.ReplicaSet]int32{}
	if rs.newRS != nil {
		out[rs.newRS] = counts.Canary
	}
	separateStable := rs.stableRS != nil && rs.stableRS != rs.newRS
	if separateStable {
		out[rs.stableRS] = counts.Stable
	}
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.others {
		byName[o.Name] = o
	}
	for _, s := range replicas.BasicCanaryOtherScaleDowns(n, fp.MaxUnavailable, sets) {
		if o := byName[s.Name]; o != nil {
			out[o] = s.Replicas
		}
	}

	// At the step's counts: the math has nothing left to move (it only
	// stops short of the target while pods are unavailable), every pod is
	// available, and nothing is left serving from other ReplicaSets.
	at := rs.newRS != nil && specReplicas(rs.newRS) == counts.Canary && rs.newRS.Status.AvailableReplicas >= counts.Canary
	if separateStable {
		at = at && specReplicas(rs.stableRS) == counts.Stable && rs.stableRS.Status.AvailableReplicas >= counts.Stable
	}
	for _, o := range rs.others {
		at = at && o.Status.AvailableReplicas == 0
	}
	return out, at
}

func specReplicas(rs *appsv1.ReplicaSet) int32 { return ptrVal(rs.Spec.Replicas) }
