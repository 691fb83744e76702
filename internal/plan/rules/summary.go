package rules

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// SummaryInput is what the summary conditions need beyond the status.
type SummaryInput struct {
	// Replicas is spec.replicas (defaulted).
	Replicas int32
	// Revision names the current revision in messages.
	Revision string
	// SpecPaused is spec.paused.
	SpecPaused bool
	// BlueGreen is set for a blue-green rollout; PreviewService when it
	// names a preview Service.
	BlueGreen, PreviewService bool
}

// PausedMessage is the message of the Paused condition, True or False (as
// Argo Rollouts writes it).
const PausedMessage = "Rollout is paused"

// Summarize sets the Available, Completed, Healthy and Paused conditions
// from the aggregated status (Argo CD, notification templates and
// `kubectl wait --for=condition=…` read them): available when every
// desired pod is; completed when the current template is the stable one;
// healthy when completed, not paused, with every desired pod updated and
// available and — canary — no old pods left, or — blue-green — both
// Services on the current version (old pods kept by scaleDownDelaySeconds
// do not count against a blue-green rollout: they serve nobody); paused
// while spec.paused or a pause condition holds it, and False once resumed.
// It returns the RolloutNotCompleted event when an update starts (the
// Completed condition turns False or moves to a new revision).
func Summarize(st *v1alpha1.RolloutStatus, in SummaryInput, now time.Time) []Event {
	if st.AvailableReplicas >= in.Replicas {
		SetCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "Rollout has minimum availability", now)
	} else {
		SetCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason, "Rollout does not have minimum availability", now)
	}
	var events []Event
	completed := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	if completed {
		SetCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason,
			fmt.Sprintf("Rollout completed update to revision %s (%s): Rollout completed", in.Revision, st.CurrentPodHash), now)
	} else {
		msg := fmt.Sprintf("Rollout not completed, started update to revision %s (%s)", in.Revision, st.CurrentPodHash)
		if c := FindCondition(st.Conditions, v1alpha1.RolloutCompleted); c == nil || c.Status != corev1.ConditionFalse || c.Message != msg {
			events = append(events, Event{Reason: v1alpha1.RolloutNotCompletedReason, Message: msg})
		}
		SetCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionFalse, v1alpha1.RolloutNotCompletedReason, msg, now)
	}
	paused := in.SpecPaused || len(st.PauseConditions) > 0
	if paused || FindCondition(st.Conditions, v1alpha1.RolloutPaused) != nil {
		status := corev1.ConditionFalse
		if paused {
			status = corev1.ConditionTrue
		}
		SetCondition(st, v1alpha1.RolloutPaused, status, v1alpha1.RolloutPausedReason, PausedMessage, now)
	}
	if !paused && Complete(st, in) {
		SetCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason, "Rollout is healthy", now)
	} else {
		SetCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason, "Rollout is not healthy", now)
	}
	return events
}

// Complete reports an update carried through: the current version stable,
// every desired pod of it updated and available, and — canary — no other
// pods left, or — blue-green — the active (and preview) Service on it.
func Complete(st *v1alpha1.RolloutStatus, in SummaryInput) bool {
	if st.StableRS == "" || st.StableRS != st.CurrentPodHash || st.UpdatedReplicas != in.Replicas || st.AvailableReplicas != in.Replicas {
		return false
	}
	if in.BlueGreen {
		return st.BlueGreen.ActiveSelector == st.CurrentPodHash && (!in.PreviewService || st.BlueGreen.PreviewSelector == st.CurrentPodHash)
	}
	return st.Replicas == in.Replicas
}
