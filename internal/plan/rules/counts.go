package rules

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// CountsOnly reports whether after differs from before only in what
// follows the pods by itself: the replica counts, when each condition was
// last updated, and the status message while the phase stays the same.
// Such a status needs no write of its own in a reconcile that scales a
// ReplicaSet: the scale's own watch event brings the next reconcile within
// moments, and that one writes the counts then (pass.WriteStatus.Defer).
// A status that decides anything — a step, a pause, a condition's state,
// the phase, a hash — is never deferred.
func CountsOnly(before, after *v1alpha1.RolloutStatus) bool {
	if equality.Semantic.DeepEqual(before, after) || before.Phase != after.Phase {
		return false
	}
	return equality.Semantic.DeepEqual(withoutCounts(before), withoutCounts(after))
}

func withoutCounts(st *v1alpha1.RolloutStatus) *v1alpha1.RolloutStatus {
	c := st.DeepCopy()
	c.Replicas, c.UpdatedReplicas, c.ReadyReplicas, c.AvailableReplicas, c.HPAReplicas = 0, 0, 0, 0, 0
	c.Message = ""
	for i := range c.Conditions {
		c.Conditions[i].LastUpdateTime = metav1.Time{}
	}
	return c
}
