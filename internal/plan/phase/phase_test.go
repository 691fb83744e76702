package phase

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// healthyCanary is a fully promoted basic canary of 3 replicas; cases
// change one thing about it.
func healthyCanary() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Generation = 2
	ro.Spec.Replicas = new(int32(3))
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
	ro.Status = v1alpha1.RolloutStatus{
		ObservedGeneration: "2",
		Replicas:           3, UpdatedReplicas: 3, AvailableReplicas: 3, ReadyReplicas: 3,
		CurrentPodHash: "abc", StableRS: "abc",
	}
	return ro
}

func healthyBlueGreen() *v1alpha1.Rollout {
	ro := healthyCanary()
	ro.Spec.Strategy.Canary = nil
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active"}
	ro.Status.BlueGreen.ActiveSelector = "abc"
	return ro
}

func TestCalculate(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	later := metav1.NewTime(now.Add(time.Minute))
	cases := []struct {
		name    string
		mutate  func(*v1alpha1.Rollout)
		base    func() *v1alpha1.Rollout
		phase   v1alpha1.RolloutPhase
		message string
	}{
		{"healthy canary", func(*v1alpha1.Rollout) {}, healthyCanary, v1alpha1.RolloutPhaseHealthy, ""},
		{"invalid spec wins over everything", func(ro *v1alpha1.Rollout) {
			ro.Spec.Paused = true
			ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.InvalidSpec, Message: "bad step"}}
		}, healthyCanary, v1alpha1.RolloutPhaseDegraded, "InvalidSpec: bad step"},
		{"aborted", func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Reason: v1alpha1.RolloutAbortedReason, Message: "Rollout aborted update to revision 2"}}
		}, healthyCanary, v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2"},
		{"progress deadline exceeded", func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Reason: v1alpha1.TimedOutReason, Message: `ReplicaSet "web-1" has timed out progressing.`}}
		}, healthyCanary, v1alpha1.RolloutPhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.`},
		{"manually paused", func(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }, healthyCanary, v1alpha1.RolloutPhasePaused, MsgManuallyPaused},
		{"paused at a step", func(ro *v1alpha1.Rollout) {
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: now}}
		}, healthyCanary, v1alpha1.RolloutPhasePaused, "CanaryPauseStep"},
		{"restart pending", func(ro *v1alpha1.Rollout) { ro.Spec.RestartAt = &later; ro.Status.RestartedAt = &now }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgRestarting},
		{"restart done", func(ro *v1alpha1.Rollout) { ro.Spec.RestartAt = &later; ro.Status.RestartedAt = &later }, healthyCanary, v1alpha1.RolloutPhaseHealthy, ""},
		{"replicas to update", func(ro *v1alpha1.Rollout) { ro.Status.UpdatedReplicas = 1 }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate},
		{"updated not yet available", func(ro *v1alpha1.Rollout) { ro.Status.AvailableReplicas = 2 }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgUpdatedBecomingReady},
		{"basic canary with old pods left", func(ro *v1alpha1.Rollout) { ro.Status.Replicas = 4 }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgOldReplicasPending},
		{"routed canary ignores lingering old pods", func(ro *v1alpha1.Rollout) {
			ro.Status.Replicas = 6
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
		}, healthyCanary, v1alpha1.RolloutPhaseHealthy, ""},
		{"canary steps unfinished", func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "old" }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps},
		{"weight not yet verified", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS, ro.Status.UpdatedReplicas = "old", 1
			ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 30}, Verified: new(false)}
		}, healthyCanary, v1alpha1.RolloutPhaseProgressing, "waiting for the load balancer to apply canary weight 30 (weights not yet verified)"},
		{"weight verified", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "old"
			ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 30}, Verified: new(true)}
		}, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps},
		{"promotion waiting for evidence, pods still at the last step's weight", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS, ro.Status.UpdatedReplicas = "old", 1
			ro.Status.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{Waiting: "waiting for evidence before promotion: background metric \"rate\" has 0 of 1"}
		}, healthyCanary, v1alpha1.RolloutPhaseProgressing, "waiting for evidence before promotion: background metric \"rate\" has 0 of 1"},
		{"a pause outranks the evidence record", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "old"
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: now}}
			ro.Status.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{Waiting: "waiting"}
		}, healthyCanary, v1alpha1.RolloutPhasePaused, "InconclusiveAnalysisRun"},
		{"canary never promoted", func(ro *v1alpha1.Rollout) { ro.Status.StableRS = ""; ro.Status.CurrentPodHash = "" }, healthyCanary, v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps},
		{"healthy blue-green", func(*v1alpha1.Rollout) {}, healthyBlueGreen, v1alpha1.RolloutPhaseHealthy, ""},
		{"blue-green cutover pending", func(ro *v1alpha1.Rollout) { ro.Status.BlueGreen.ActiveSelector = "old" }, healthyBlueGreen, v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending},
		{"blue-green post-promotion analysis running", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "old"
			ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}
			ro.Status.BlueGreen.PostPromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Status: v1alpha1.AnalysisPhaseRunning}
		}, healthyBlueGreen, v1alpha1.RolloutPhaseProgressing, MsgWaitingPostAnalysis},
		{"blue-green post-promotion verification", func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "old" }, healthyBlueGreen, v1alpha1.RolloutPhaseProgressing, MsgWaitingPostVerify},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := c.base()
			c.mutate(ro)
			phase, msg := Calculate(ro)
			if phase != c.phase || msg != c.message {
				t.Errorf("got %s %q, want %s %q", phase, msg, c.phase, c.message)
			}
		})
	}
}

func TestObserved(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*v1alpha1.Rollout)
		phase   v1alpha1.RolloutPhase
		message string
	}{
		{"written phase is shown", func(ro *v1alpha1.Rollout) {
			ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
		}, v1alpha1.RolloutPhasePaused, "CanaryPauseStep"},
		{"new generation not observed", func(ro *v1alpha1.Rollout) { ro.Generation = 3 }, v1alpha1.RolloutPhaseProgressing, MsgGenerationNotObserved},
		{"legacy hash in observedGeneration counts as observed", func(ro *v1alpha1.Rollout) { ro.Status.ObservedGeneration = "6b9f7c" }, v1alpha1.RolloutPhaseHealthy, ""},
		{"user resumed, controller not yet", func(ro *v1alpha1.Rollout) { ro.Status.ControllerPause = true }, v1alpha1.RolloutPhaseProgressing, MsgUnpausing},
		{"workload generation not observed", func(ro *v1alpha1.Rollout) {
			ro.Spec.TemplateResolvedFromRef = true
			ro.Annotations = map[string]string{v1alpha1.WorkloadGenerationAnnotation: "4"}
			ro.Status.WorkloadObservedGeneration = "3"
		}, v1alpha1.RolloutPhaseProgressing, MsgWorkloadNotObserved},
		{"workload generation observed", func(ro *v1alpha1.Rollout) {
			ro.Spec.TemplateResolvedFromRef = true
			ro.Annotations = map[string]string{v1alpha1.WorkloadGenerationAnnotation: "4"}
			ro.Status.WorkloadObservedGeneration = "4"
		}, v1alpha1.RolloutPhaseHealthy, ""},
		{"no written phase falls back to the calculation", func(ro *v1alpha1.Rollout) { ro.Status.UpdatedReplicas = 0 }, v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := healthyCanary()
			c.mutate(ro)
			phase, msg := Observed(ro)
			if phase != c.phase || msg != c.message {
				t.Errorf("got %s %q, want %s %q", phase, msg, c.phase, c.message)
			}
		})
	}
}
