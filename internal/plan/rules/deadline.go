package rules

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// ReasonDeadlineExceeded is the event reason of a missed progress deadline.
const ReasonDeadlineExceeded = "ProgressDeadlineExceeded"

// DeadlineInput is what the progress-deadline decision needs beyond status.
type DeadlineInput struct {
	// Progressed is true when this reconcile changed something towards the
	// goal: created or scaled a ReplicaSet, switched a Service, moved a step.
	Progressed bool
	// NewRSName names the new ReplicaSet in messages.
	NewRSName string
	// Deadline is spec.progressDeadlineSeconds.
	Deadline time.Duration
	// AbortOnTimeout is spec.progressDeadlineAbort.
	AbortOnTimeout bool
	// Paused is spec.paused.
	Paused bool
	// Replicas is spec.replicas (defaulted): an update is only done once
	// that many pods of the stable version are up and available.
	Replicas int32
	// Indefinite: the rollout is at an analysis or experiment step, which
	// takes as long as it takes; as in Argo Rollouts the deadline does
	// not run out there.
	Indefinite bool
}

// TrackProgress maintains the Progressing condition and the progress
// deadline. Progress refreshes the condition; an update that makes none for
// the deadline gets Progressing False / ProgressDeadlineExceeded (phase
// Degraded), and with progressDeadlineAbort also an abort. Time spent paused
// (by the user or at a pause step), at an analysis or experiment step or
// aborted does not count, and an
// update whose stable version has every pod available has nothing left to
// time (the first revision is stable at once, but may never come up). It
// returns the events and when the deadline falls due (0 when it is not
// running).
func TrackProgress(st *v1alpha1.RolloutStatus, in DeadlineInput, now time.Time) ([]Event, time.Duration) {
	cond := FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
	switch {
	case st.Abort:
		return nil, 0
	case st.StableRS != "" && st.StableRS == st.CurrentPodHash && st.UpdatedReplicas >= in.Replicas && st.AvailableReplicas >= in.Replicas:
		SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.NewRSAvailableReason,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", in.NewRSName), now)
		return nil, 0
	case in.Paused || len(st.PauseConditions) > 0:
		SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutPausedReason, "Rollout is paused", now)
		return nil, 0
	case cond != nil && cond.Reason == v1alpha1.TimedOutReason:
		// progressDeadlineAbort turned on after the deadline passed still
		// aborts: the flag is read now, not only at the moment of timeout.
		if in.AbortOnTimeout {
			st.Abort = true
		}
		return nil, 0
	case in.Progressed || cond == nil || cond.Reason == v1alpha1.RolloutPausedReason || cond.Reason == v1alpha1.NewRSAvailableReason:
		// Progress, or the clock (re)starts after a pause or a completion.
		markProgress(st, in.NewRSName, now)
		return nil, in.Deadline
	}
	if in.Indefinite {
		return nil, 0
	}
	due := cond.LastUpdateTime.Add(in.Deadline)
	if now.Before(due) {
		return nil, due.Sub(now)
	}
	msg := fmt.Sprintf("ReplicaSet %q has timed out progressing.", in.NewRSName)
	SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, msg, now)
	events := []Event{{Warning: true, Reason: ReasonDeadlineExceeded, Message: msg}}
	if in.AbortOnTimeout {
		st.Abort = true
	}
	return events, 0
}

// markProgress sets Progressing True and restarts the deadline clock, even
// when the condition's text is unchanged.
func markProgress(st *v1alpha1.RolloutStatus, rsName string, now time.Time) {
	SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason,
		fmt.Sprintf("ReplicaSet %q is progressing.", rsName), now)
	FindCondition(st.Conditions, v1alpha1.RolloutProgressing).LastUpdateTime = metav1.NewTime(now)
}
