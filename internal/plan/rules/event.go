// Package rules holds the Rollout rules both strategies share — events and
// their reasons, conditions, pauses and resumes, the progress deadline, the
// summary conditions, the runs of an attempt, the rollback window — so the
// canary and blue-green planners apply one rule once. Like every planner it
// never talks to the API server.
package rules

import "fmt"

// Event is something worth telling users, with Argo Rollouts' reason string
// (notification triggers are keyed on these).
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Event reasons.
const (
	ReasonStepCompleted = "RolloutStepCompleted"
	ReasonCompleted     = "RolloutCompleted"
	ReasonPaused        = "RolloutPaused"
	ReasonResumed       = "RolloutResumed"
	ReasonSkipSteps     = "SkipSteps"
	ReasonUpdated       = "RolloutUpdated"
)

// ReasonAwaitingEvidence tells that a canary's last step is done and its
// promotion waits for its background analysis to measure it at its
// current weight (Aviary's own; internal/plan/evidence).
const ReasonAwaitingEvidence = "AwaitingPromotionEvidence"

// InitialDeploy ends the RolloutCompleted message of a rollout's first
// revision.
const InitialDeploy = "Initial deploy"

// ReasonAborted is the event reason of an abort.
const ReasonAborted = "RolloutAborted"

// Reasons of the events telling the new phase of a run the Rollout tracks
// (RunEvents): "AnalysisRun" and the phase, as Argo Rollouts names them,
// since its on-analysis-run-* notification triggers are keyed on them.
const (
	ReasonAnalysisRunPending      = "AnalysisRunPending"
	ReasonAnalysisRunRunning      = "AnalysisRunRunning"
	ReasonAnalysisRunSuccessful   = "AnalysisRunSuccessful"
	ReasonAnalysisRunFailed       = "AnalysisRunFailed"
	ReasonAnalysisRunError        = "AnalysisRunError"
	ReasonAnalysisRunInconclusive = "AnalysisRunInconclusive"
)

// Reasons of the events about ReplicaSets and other objects, recorded
// by the shell as it applies a plan.
const (
	ReasonNewReplicaSetCreated = "NewReplicaSetCreated"
	ReasonScalingReplicaSet    = "ScalingReplicaSet"
	ReasonAddedToInformer      = "RolloutAddedToInformer"
	ReasonAdoptedReplicaSet    = "AdoptedReplicaSet"
	ReasonAnalysisRunCreated   = "AnalysisRunCreated"
	ReasonExperimentCreated    = "ExperimentCreated"
	ReasonSwitchService        = "SwitchService"
	ReasonTrafficWeightUpdated = "TrafficWeightUpdated"
	ReasonRolloutRestarting    = "RolloutRestarting"
)

// ScalingMessage is the ScalingReplicaSet message in Argo Rollouts' words
// ("Scaled up ReplicaSet web-abc (revision 2) from 0 to 1").
func ScalingMessage(name, revision string, from, to int32) string {
	dir := "up"
	if to < from {
		dir = "down"
	}
	return fmt.Sprintf("Scaled %s ReplicaSet %s (revision %s) from %d to %d", dir, name, revision, from, to)
}

// PausedAtAnnotation is where an earlier Aviary recorded on the Rollout the
// pause step the controller last held it at ("<pod-template-hash>/<step
// index>"), in a metadata write of its own before each pause; the record
// now rides in the status write that pauses (status.controllerPauseStep),
// and this one is only read, for a rollout paused before.
const PausedAtAnnotation = "rollouts.aviary.dev/paused-at"

// ReasonStepPluginTransition tells a step plugin operation's new phase
// (Argo Rollouts' reason).
const ReasonStepPluginTransition = "StepPluginTransition"
