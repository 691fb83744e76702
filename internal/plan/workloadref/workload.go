// Package workloadref decides what a Rollout with a workloadRef does to the
// Deployment it took its template from: spec.workloadRef.scaleDown.
package workloadref

import "github.com/aviary-rollouts/aviary/api/v1alpha1"

// ScaleDown is the size the referenced Deployment (now at current
// replicas, nil meaning 1) should be scaled to during the Rollout's first
// revision, and whether a write is due: "onsuccess" scales it to zero once
// the Rollout is healthy (st is the status as decided), "progressively"
// shrinks it as Rollout pods become ready; "never" (the default) and any
// later revision leave it alone.
func ScaleDown(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, current *int32, revision string) (int32, bool) {
	if ro.Spec.WorkloadRef == nil || revision != "1" {
		return 0, false
	}
	var want int32
	switch ro.Spec.WorkloadRef.ScaleDown {
	case "onsuccess":
		if st.StableRS == "" || st.StableRS != st.CurrentPodHash || st.AvailableReplicas < ro.ReplicasOrDefault() {
			return 0, false
		}
	case "progressively":
		want = max(ro.ReplicasOrDefault()-st.ReadyReplicas, 0)
	default:
		return 0, false
	}
	if current != nil && *current == want {
		return 0, false
	}
	return want, true
}
