package canary

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// handleAbort acts on status.abort, which a user (`kubectl argo rollouts
// abort`) or a failed analysis sets: the first time it records abortedAt,
// marks Progressing False with reason RolloutAborted (phase Degraded) and
// goes back to the first step, so the canary weight is 0 and stable takes
// all pods. When the flag is cleared again (`retry`) the Progressing
// condition says RolloutRetry and the steps start over. It reports whether the rollout is aborted.
func handleAbort(st *v1alpha1.RolloutStatus, obs Observed, now time.Time) (bool, []rules.Event) {
	progressing := rules.FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
	if st.Abort {
		if st.AbortedAt != nil {
			// Kept so while aborted, as Argo Rollouts rebuilds it each
			// reconcile: a status written from a stale cache (a progress
			// deadline decided again) must not leave another reason, or a
			// retry would not be recognised.
			if progressing == nil || progressing.Reason != v1alpha1.RolloutAbortedReason {
				rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason,
					fmt.Sprintf("Rollout aborted update to revision %s", obs.Revision), now)
			}
			return true, nil
		}
		at := metav1.NewTime(now)
		st.AbortedAt = &at
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		idx := int32(0)
		st.CurrentStepIndex = &idx
		msg := fmt.Sprintf("Rollout aborted update to revision %s", obs.Revision)
		rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg, now)
		return true, []rules.Event{{Warning: true, Reason: rules.ReasonAborted, Message: msg}}
	}
	if progressing != nil && progressing.Reason == v1alpha1.RolloutAbortedReason {
		st.AbortedAt = nil
		idx := int32(0)
		st.CurrentStepIndex = &idx
		const msg = "Retrying Rollout after abort"
		// The condition alone records a retry: Argo Rollouts emits no event
		// for it, and notification triggers count on that.
		rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, msg, now)
		return false, nil
	}
	return false, nil
}
