package canary

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Summarize sets the Available, Completed and Healthy conditions from the
// aggregated status (Argo CD and notification templates read them):
// available when every desired pod is, completed when the current template
// is the stable one, healthy when completed with every pod updated and
// available and no old pods left. revision names the current revision.
// It returns the RolloutNotCompleted event when an update starts (the
// Completed condition turns False or moves to a new revision).
func Summarize(st *v1alpha1.RolloutStatus, replicas int32, revision string, now time.Time) []Event {
	if st.AvailableReplicas >= replicas {
		SetCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "Rollout has minimum availability", now)
	} else {
		SetCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason, "Rollout does not have minimum availability", now)
	}
	var events []Event
	completed := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	if completed {
		SetCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason,
			fmt.Sprintf("Rollout completed update to revision %s (%s): Rollout completed", revision, st.CurrentPodHash), now)
	} else {
		msg := fmt.Sprintf("Rollout not completed, started update to revision %s (%s)", revision, st.CurrentPodHash)
		if c := FindCondition(st.Conditions, v1alpha1.RolloutCompleted); c == nil || c.Status != corev1.ConditionFalse || c.Message != msg {
			events = append(events, Event{Reason: v1alpha1.RolloutNotCompletedReason, Message: msg})
		}
		SetCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionFalse, v1alpha1.RolloutNotCompletedReason, msg, now)
	}
	if completed && st.UpdatedReplicas == replicas && st.AvailableReplicas == replicas && st.Replicas == replicas {
		SetCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason, "Rollout is healthy", now)
	} else {
		SetCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason, "Rollout is not healthy", now)
	}
	return events
}
