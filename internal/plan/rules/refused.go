package rules

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// CreateRefused records in st that the API server refused the new
// ReplicaSet rsName (a ResourceQuota, an admission webhook, a template it
// finds invalid), as Argo Rollouts does: the Progressing condition False
// with reason ReplicaSetCreateError and Argo's message. It returns the
// Warning event to tell, and changed false — no event, nothing to write —
// when st already records this very refusal, so a create retried with
// backoff is told once. The progress the create makes once accepted
// replaces the condition (TrackProgress).
func CreateRefused(st *v1alpha1.RolloutStatus, rsName, refusal string, now time.Time) (e Event, changed bool) {
	msg := fmt.Sprintf("Failed to create new replica set %q: %s", rsName, refusal)
	if c := FindCondition(st.Conditions, v1alpha1.RolloutProgressing); c != nil && c.Reason == v1alpha1.FailedRSCreateReason && c.Message == msg {
		return Event{}, false
	}
	SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.FailedRSCreateReason, msg, now)
	return Event{Warning: true, Reason: v1alpha1.FailedRSCreateReason, Message: msg}, true
}
