package canary

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// ReasonAborted is the event reason of an abort.
const ReasonAborted = "RolloutAborted"

// handleAbort acts on status.abort, which a user (`kubectl argo rollouts
// abort`) or a failed analysis sets: the first time it records abortedAt,
// marks Progressing False with reason RolloutAborted (phase Degraded) and
// goes back to the first step, so the canary weight is 0 and stable takes
// all pods. When the flag is cleared again (`retry`) the Progressing
// condition says RolloutRetry and the steps start over. It reports whether the rollout is aborted.
func handleAbort(st *v1alpha1.RolloutStatus, obs Observed, now time.Time) (bool, []Event) {
	progressing := FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
	if st.Abort {
		if st.AbortedAt != nil {
			return true, nil
		}
		at := metav1.NewTime(now)
		st.AbortedAt = &at
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		idx := int32(0)
		st.CurrentStepIndex = &idx
		msg := fmt.Sprintf("Rollout aborted update to revision %s", obs.Revision)
		SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg, now)
		return true, []Event{{Warning: true, Reason: ReasonAborted, Message: msg}}
	}
	if progressing != nil && progressing.Reason == v1alpha1.RolloutAbortedReason {
		st.AbortedAt = nil
		idx := int32(0)
		st.CurrentStepIndex = &idx
		const msg = "Retrying Rollout after abort"
		// The condition alone records a retry: Argo Rollouts emits no event
		// for it, and notification triggers count on that.
		SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, msg, now)
		return false, nil
	}
	return false, nil
}

// FindCondition is the condition of type t, or nil.
func FindCondition(conds []v1alpha1.RolloutCondition, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// SetCondition writes a condition, keeping its transition time when only the
// reason or message changes.
func SetCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) {
	ts := metav1.NewTime(now)
	c := FindCondition(st.Conditions, t)
	if c == nil {
		st.Conditions = append(st.Conditions, v1alpha1.RolloutCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: ts, LastTransitionTime: ts})
		return
	}
	if c.Status != status {
		c.LastTransitionTime = ts
	}
	if c.Status != status || c.Reason != reason || c.Message != msg {
		c.LastUpdateTime = ts
	}
	c.Status, c.Reason, c.Message = status, reason, msg
}
