package rules

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

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

// SettlePause derives controllerPause from the status being written rather
// than carrying it forward: the flag means "the controller holds a pause",
// so it is only kept while a pause condition backs it. A user's resume
// (flag set, conditions cleared) is read once, by the reconcile that acts
// on it; a client that clears the conditions and moves the step at once
// (Argo CD's skip-current-step) must not leave the flag behind, or the next
// pause of the same revision — even a manual gate — would count as
// resumed. Under spec.paused nothing acts, so a pending resume is kept.
func SettlePause(st *v1alpha1.RolloutStatus, specPaused bool) {
	if len(st.PauseConditions) == 0 && !(specPaused && !st.Abort) {
		st.ControllerPause = false
	}
}

// RemovePause drops the pause conditions with reason.
func RemovePause(conds []v1alpha1.PauseCondition, reason v1alpha1.PauseReason) []v1alpha1.PauseCondition {
	var out []v1alpha1.PauseCondition
	for _, c := range conds {
		if c.Reason != reason {
			out = append(out, c)
		}
	}
	return out
}

// HasPause reports a pause condition with reason.
func HasPause(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) bool {
	for _, c := range st.PauseConditions {
		if c.Reason == reason {
			return true
		}
	}
	return false
}

// AddPause has the controller hold the rollout for reason from now.
func AddPause(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason, now time.Time) {
	st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: reason, StartTime: metav1.NewTime(now)})
	st.ControllerPause = true
}
