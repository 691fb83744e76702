// Package rules holds the Rollout rules both strategies share — events and
// their reasons, conditions, pauses and resumes, the progress deadline, the
// summary conditions, the runs of an attempt, the rollback window — so the
// canary and blue-green planners apply one rule once. Like every planner it
// never talks to the API server.
package rules

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

// InitialDeploy ends the RolloutCompleted message of a rollout's first
// revision.
const InitialDeploy = "Initial deploy"

// ReasonAborted is the event reason of an abort.
const ReasonAborted = "RolloutAborted"
