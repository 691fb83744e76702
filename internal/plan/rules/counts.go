package rules

import (
	corev1 "k8s.io/api/core/v1"

	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// CountsDelay is how long a status that moved only with the pods may wait
// unwritten for a decision to carry it: pods start and stop in bursts
// around each decision (a scale, then its pods one by one, then the step
// they complete), and one write carries a burst. Five seconds covers a
// typical pod start and keeps `kubectl argo rollouts get`, `kubectl wait`
// and an HPA (the scale subresource reads status.HPAReplicas) at most that
// far behind.
const CountsDelay = 5 * time.Second

// UpdateDelay is how long, during an update (Updating), the facts of
// ReplicaSet writes may wait untold for the decision they lead to — a step
// completed, the update completed or aborted — whose one Event tells them
// with it. An Event per pod move was half of a rollout's requests on the
// bench wave; a step that takes longer (slow pods, a long pause or
// analysis) has them told on their own.
const UpdateDelay = 30 * time.Second

// Updating reports whether an update is under way: the Completed condition
// is not True. The scales it makes serve its next decision.
func Updating(st *v1alpha1.RolloutStatus) bool {
	c := FindCondition(st.Conditions, v1alpha1.RolloutCompleted)
	return c == nil || c.Status != corev1.ConditionTrue
}

// CountsOnly reports whether after differs from before only in what
// follows the pods by itself: the replica counts, when each condition was
// last updated, and the status message while the phase stays the same.
// Such a status may wait up to CountsDelay for a decision's write to carry
// it (pass.WriteStatus.Defer).
// A status that decides anything — a step, a pause, a condition's state,
// the phase, a hash — is never deferred.
func CountsOnly(before, after *v1alpha1.RolloutStatus) bool {
	if equality.Semantic.DeepEqual(before, after) || before.Phase != after.Phase {
		return false
	}
	return equality.Semantic.DeepEqual(withoutCounts(before), withoutCounts(after))
}

// MayWait reports whether a reconcile that decides nothing may leave its
// status unwritten, and what it did untold, for a later decision to carry:
// the status moved only with the pods (CountsOnly), or — while something
// already waits (waiting) — did not move at all (the pods came back to the
// counts last written: a stable scaled down once the canary pod it made
// room for was available).
func MayWait(before, after *v1alpha1.RolloutStatus, waiting bool) bool {
	if waiting && equality.Semantic.DeepEqual(before, after) {
		return true
	}
	return CountsOnly(before, after)
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
