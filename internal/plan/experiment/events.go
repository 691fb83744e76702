package experiment

import "github.com/aviary-rollouts/aviary/api/v1alpha1"

// Event is something worth telling users about an Experiment, with Argo
// Rollouts' reason string.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Event reasons. A template's transition is "Template" + its new status
// (TemplateRunning, TemplateSuccessful, TemplateFailed…) and a run's
// "AnalysisRun" + its new phase (AnalysisRunPending, AnalysisRunFailed…),
// as Argo Rollouts names them.
const (
	ReasonTemplatePrefix       = "Template"
	ReasonAnalysisRunPrefix    = "AnalysisRun"
	ReasonAnalysisRunTerminate = "AnalysisRunTerminating"
	ReasonScalingReplicaSet    = "ScalingReplicaSet"
	ReasonInvalidSpec          = v1alpha1.InvalidSpecReason
	// Reasons of the Experiment's Progressing condition.
	ReasonReplicaSetUpdated      = "ReplicaSetUpdated"
	ReasonNewReplicaSetAvailable = "NewReplicaSetAvailable"
	ReasonExperimentCompleted    = "ExperimentCompleted"
)

// RequiredAnalysisCompletedMessage is the Experiment's message when its
// required analyses all succeeded.
const RequiredAnalysisCompletedMessage = "Required AnalysisRuns completed"
