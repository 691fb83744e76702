// Package phase derives a Rollout's phase and message from its spec and
// status. The controller writes the result into status; clients (CLI,
// dashboard) read it back with Observed, which also covers the moments the
// controller has not yet caught up with a change.
package phase

import (
	"fmt"
	"strconv"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Messages users and scripts see in `status.message` (Argo Rollouts' wording).
const (
	MsgManuallyPaused        = "manually paused"
	MsgRestarting            = "rollout is restarting"
	MsgMoreReplicasToUpdate  = "more replicas need to be updated"
	MsgUpdatedBecomingReady  = "updated replicas are still becoming available"
	MsgActiveCutoverPending  = "active service cutover pending"
	MsgWaitingPostAnalysis   = "waiting for analysis to complete"
	MsgWaitingPostVerify     = "waiting for post-promotion verification to complete"
	MsgOldReplicasPending    = "old replicas are pending termination"
	MsgWaitingForSteps       = "waiting for all steps to complete"
	MsgGenerationNotObserved = "waiting for rollout spec update to be observed"
	MsgUnpausing             = "waiting for rollout to unpause"
	MsgWorkloadNotObserved   = "waiting for rollout spec update to be observed for the reference workload"
	// MsgWeightNotVerified is Aviary's: the status names the weight, an
	// event (TargetGroupUnverified) what the load balancer has instead.
	MsgWeightNotVerified = "waiting for the load balancer to apply canary weight %d (weights not yet verified)"
)

// Calculate is the controller's phase rule, checked in order: an invalid
// spec, abort or missed progress deadline is Degraded; a manual or
// controller pause is Paused; unfinished restarts, a promotion waiting
// for evidence, updates, availability, service cutover or steps are
// Progressing; anything else is Healthy.
func Calculate(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", v1alpha1.InvalidSpec, c.Message)
		}
		if c.Reason == v1alpha1.RolloutAbortedReason || c.Reason == v1alpha1.TimedOutReason {
			return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	if ro.Spec.Paused {
		return v1alpha1.RolloutPhasePaused, MsgManuallyPaused
	}
	if len(ro.Status.PauseConditions) > 0 {
		return v1alpha1.RolloutPhasePaused, string(ro.Status.PauseConditions[0].Reason)
	}
	if restartPending(ro) {
		return v1alpha1.RolloutPhaseProgressing, MsgRestarting
	}
	// A canary whose final step waits for analysis evidence says so
	// (Aviary's own wait, internal/plan/evidence): its pods are as the
	// last step left them, so the replica messages below would hide it.
	if pe := ro.Status.Canary.PromotionEvidence; ro.Spec.Strategy.Canary != nil && pe != nil && pe.Waiting != "" {
		return v1alpha1.RolloutPhaseProgressing, pe.Waiting
	}
	// A weight the data plane has not taken yet holds the canary where it
	// is (ALB with --aws-verify-target-group); say so, and which weight.
	if w := ro.Status.Canary.Weights; ro.Spec.Strategy.Canary != nil && w != nil && w.Verified != nil && !*w.Verified &&
		ro.Status.StableRS != ro.Status.CurrentPodHash {
		return v1alpha1.RolloutPhaseProgressing, fmt.Sprintf(MsgWeightNotVerified, w.Canary.Weight)
	}
	if ro.Status.UpdatedReplicas < ro.ReplicasOrDefault() {
		return v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate
	}
	if ro.Status.AvailableReplicas < ro.Status.UpdatedReplicas {
		return v1alpha1.RolloutPhaseProgressing, MsgUpdatedBecomingReady
	}
	promoted := ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash
	switch s := ro.Spec.Strategy; {
	case s.BlueGreen != nil:
		if ro.Status.BlueGreen.ActiveSelector == "" || ro.Status.BlueGreen.ActiveSelector != ro.Status.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending
		}
		if !promoted {
			run := ro.Status.BlueGreen.PostPromotionAnalysisRunStatus
			if s.BlueGreen.PostPromotionAnalysis != nil && (run == nil || !run.Status.Completed()) {
				return v1alpha1.RolloutPhaseProgressing, MsgWaitingPostAnalysis
			}
			return v1alpha1.RolloutPhaseProgressing, MsgWaitingPostVerify
		}
	case s.Canary != nil:
		// Only a basic canary scales old pods down at once; with a router
		// or blue-green they linger for scaleDownDelaySeconds by design.
		if s.Canary.TrafficRouting == nil && ro.Status.Replicas > ro.Status.UpdatedReplicas {
			return v1alpha1.RolloutPhaseProgressing, MsgOldReplicasPending
		}
		if !promoted {
			return v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps
		}
	}
	return v1alpha1.RolloutPhaseHealthy, ""
}

func restartPending(ro *v1alpha1.Rollout) bool {
	return ro.Spec.RestartAt != nil && (ro.Status.RestartedAt == nil || !ro.Spec.RestartAt.Equal(ro.Status.RestartedAt))
}

// Observed is the phase a client shows: Progressing while the controller has
// not yet observed the latest spec, or while a user's resume is pending;
// otherwise the phase the controller wrote (or, for objects it never
// touched, the calculated one).
func Observed(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	if !generationObserved(ro) {
		return v1alpha1.RolloutPhaseProgressing, MsgGenerationNotObserved
	}
	if Unpausing(ro) {
		return v1alpha1.RolloutPhaseProgressing, MsgUnpausing
	}
	if ro.Spec.TemplateResolvedFromRef && !workloadGenerationObserved(ro) {
		return v1alpha1.RolloutPhaseProgressing, MsgWorkloadNotObserved
	}
	if ro.Status.Phase != "" {
		return ro.Status.Phase, ro.Status.Message
	}
	return Calculate(ro)
}

// Unpausing reports a user's resume the controller has not yet acted on: it
// had paused (controllerPause) and the user cleared every pause condition.
func Unpausing(ro *v1alpha1.Rollout) bool {
	return ro.Status.ControllerPause && len(ro.Status.PauseConditions) == 0
}

// generationObserved compares status.observedGeneration, a string for
// historical reasons: very old controllers stored a hash there, which is
// never treated as stale.
func generationObserved(ro *v1alpha1.Rollout) bool {
	observed, err := strconv.ParseInt(ro.Status.ObservedGeneration, 10, 64)
	if err != nil {
		return true
	}
	return observed >= ro.Generation
}

// workloadGenerationObserved compares the referenced workload's generation,
// recorded on the Rollout, with the one the controller acted on; an
// unparsable status value counts as observed, as for observedGeneration.
func workloadGenerationObserved(ro *v1alpha1.Rollout) bool {
	want, ok := ro.Annotations[v1alpha1.WorkloadGenerationAnnotation]
	if !ok {
		return true
	}
	observed, err := strconv.ParseInt(ro.Status.WorkloadObservedGeneration, 10, 32)
	if err != nil {
		return true
	}
	w, err := strconv.ParseInt(want, 10, 32)
	return err == nil && w == observed
}
