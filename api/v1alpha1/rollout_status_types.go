package v1alpha1

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutStatus is the observed state of a Rollout. Several fields
// (abort, pauseConditions, controllerPause, promoteFull, currentStepIndex,
// stableRS, currentPodHash, canary.weights) are also written by clients with
// merge patches, so they are part of the wire protocol.
type RolloutStatus struct {
	// Abort stops the update and returns to the stable version.
	Abort bool `json:"abort,omitempty"`
	// PauseConditions are the reasons the controller paused; clients clear
	// them to resume.
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause is true once the controller paused the Rollout; with
	// no pause conditions left it means a user resumed it.
	ControllerPause bool `json:"controllerPause,omitempty"`
	// AbortedAt is when the controller acted on the abort.
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// CurrentPodHash is the hash of the desired pod template.
	// +optional
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// CurrentStepHash is the hash of the canary steps; a change restarts them.
	// +optional
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	// Replicas is the number of non-terminated pods selected.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas is the number of those pods with the desired template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas is the number of pods ready for minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// CurrentStepIndex is the canary step being executed; len(steps) means
	// all steps are done.
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CollisionCount disambiguates ReplicaSet names on hash collisions.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is the metadata.generation last acted on, as a
	// string for compatibility with Argo Rollouts.
	// +optional
	ObservedGeneration string `json:"observedGeneration,omitempty"`
	// Conditions are the standard rollout conditions.
	// +optional
	Conditions []RolloutCondition `json:"conditions,omitempty"`
	// Canary is bookkeeping for the canary strategy.
	// +optional
	Canary CanaryStatus `json:"canary,omitempty"`
	// BlueGreen is bookkeeping for the blue-green strategy.
	// +optional
	BlueGreen BlueGreenStatus `json:"blueGreen,omitempty"`
	// HPAReplicas is the replica count reported through the scale
	// subresource. Its JSON name keeps Argo Rollouts' capitalisation.
	// +optional
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector is the label selector, as a string, reported through the
	// scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// StableRS is the hash of the ReplicaSet last fully promoted.
	// +optional
	StableRS string `json:"stableRS,omitempty"`
	// RestartedAt is when the last requested restart completed.
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// PromoteFull skips all remaining steps, pauses and analyses.
	PromoteFull bool `json:"promoteFull,omitempty"`
	// Phase summarises the Rollout; trust it only when observedGeneration
	// equals metadata.generation.
	Phase RolloutPhase `json:"phase,omitempty"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// WorkloadObservedGeneration is the generation of the workloadRef target
	// last acted on.
	// +optional
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`
	// ALB records the load balancer and target groups (single ingress).
	ALB *ALBStatus `json:"alb,omitempty"`
	// ALBs records them per ingress when several are used.
	ALBs []ALBStatus `json:"albs,omitempty"`
	// Duration times the latest update (Argo Rollouts v1.10): when it
	// began, how long it waited on people, and how it ended.
	// +optional
	Duration *RolloutDuration `json:"duration,omitempty"`
	// ControllerPauseStep is the canary pause step the controller last held
	// the rollout at, as "<pod-template-hash>/<step index>" (Aviary's own
	// field). It is written with the pause itself, so a client that clears
	// pauseConditions and moves currentStepIndex at once (Argo CD's skip)
	// is told from one that resumes the step held.
	// +optional
	ControllerPauseStep string `json:"controllerPauseStep,omitempty"`
}

// RolloutDuration times one update of a Rollout, from the template change
// (or the first deployment, or a retry after an abort) to its outcome. It
// is kept after the update ends, until the next one begins.
type RolloutDuration struct {
	// RolloutStartedAt is when the update began.
	// +optional
	RolloutStartedAt *metav1.Time `json:"rolloutStartedAt,omitempty"`
	// ManualPauseStartedAt is when the current manual pause began: one that
	// waits for a person (spec.paused, a pause step without a duration, a
	// blue-green pause without autoPromotionSeconds, an inconclusive
	// analysis). Unset when the update is not paused so.
	// +optional
	ManualPauseStartedAt *metav1.Time `json:"manualPauseStartedAt,omitempty"`
	// TotalManualPauseDurationSeconds adds up the manual pauses that have
	// ended, in whole seconds; unset if there was none.
	// +optional
	TotalManualPauseDurationSeconds *int64 `json:"totalManualPauseDurationSeconds,omitempty"`
	// FinishedAt is when the update reached its outcome.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// CompletionStatus is the outcome. A rollback or a full promotion is
	// known before the update ends, so it may be set while FinishedAt is
	// still unset.
	// +optional
	CompletionStatus CompletionStatus `json:"completionStatus,omitempty"`
}

// CompletionStatus is how an update ended.
// +kubebuilder:validation:Enum=Promoted;FastPromoted;Aborted;Superseded;RolledBack;FastRolledBack
type CompletionStatus string

// CompletionStatus values.
const (
	// CompletionPromoted: the update went through its steps and became
	// stable.
	CompletionPromoted CompletionStatus = "Promoted"
	// CompletionFastPromoted: promoted with promote --full, skipping what
	// was left.
	CompletionFastPromoted CompletionStatus = "FastPromoted"
	// CompletionAborted: aborted by a user, a failed analysis or the
	// progress deadline.
	CompletionAborted CompletionStatus = "Aborted"
	// CompletionSuperseded: a newer template replaced the update before it
	// ended; a new update begins.
	CompletionSuperseded CompletionStatus = "Superseded"
	// CompletionRolledBack: the template went back to an older revision
	// (not the stable one), which went through the steps.
	CompletionRolledBack CompletionStatus = "RolledBack"
	// CompletionFastRolledBack: the template went back to the stable
	// revision, or to one still kept for a fast rollback, skipping the
	// steps.
	CompletionFastRolledBack CompletionStatus = "FastRolledBack"
)

// RolloutPhase summarises a Rollout's state.
type RolloutPhase string

// RolloutPhase values.
const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
)

// PauseReason says why the controller paused a Rollout.
type PauseReason string

// PauseReason values.
const (
	PauseReasonInconclusiveAnalysis   PauseReason = "InconclusiveAnalysisRun"
	PauseReasonInconclusiveExperiment PauseReason = "InconclusiveExperiment"
	PauseReasonCanaryPauseStep        PauseReason = "CanaryPauseStep"
	PauseReasonBlueGreenPause         PauseReason = "BlueGreenPause"
)

// PauseCondition is one reason for a pause and when it began.
type PauseCondition struct {
	// Reason for the pause.
	Reason PauseReason `json:"reason"`
	// StartTime of the pause; timed pauses count from it.
	StartTime metav1.Time `json:"startTime"`
}

// CanaryStatus is the canary strategy's bookkeeping.
type CanaryStatus struct {
	// CurrentStepAnalysisRunStatus is the run of the current analysis step.
	CurrentStepAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	// CurrentBackgroundAnalysisRunStatus is the background run.
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// CurrentExperiment is the name of the running Experiment.
	CurrentExperiment string `json:"currentExperiment,omitempty"`
	// Weights are the weights last applied to the traffic router.
	Weights *TrafficWeights `json:"weights,omitempty"`
	// StablePingPong is ping or pong: which service is currently stable.
	StablePingPong PingPongType `json:"stablePingPong,omitempty"`
	// StepPluginStatuses record step plugin operations.
	StepPluginStatuses []StepPluginStatus `json:"stepPluginStatuses,omitempty"`
	// PromotionEvidence is Aviary's own bookkeeping for its rule that a
	// canary whose background analysis runs is not promoted before that
	// analysis has measured it successfully at its current weight. Absent
	// when the rule does not apply.
	// +optional
	PromotionEvidence *PromotionEvidence `json:"promotionEvidence,omitempty"`
}

// PromotionEvidence is what the controller keeps for the rule that a
// canary is not promoted without successful background measurements at
// its current weight (Aviary's own; docs/analysis.md).
type PromotionEvidence struct {
	// WeightSince is when the canary reached its current weight: the
	// completion of the last setWeight or setCanaryScale step, or the
	// start of the update. Measurements started after it count; unset
	// (not recorded), every measurement of the run counts.
	// +optional
	WeightSince *metav1.Time `json:"weightSince,omitempty"`
	// Waiting is set while the last step is done and the promotion waits
	// for that evidence; it says which metric lacks how many successful
	// measurements.
	// +optional
	Waiting string `json:"waiting,omitempty"`
}

// PingPongType names one of the two ping-pong services.
type PingPongType string

// PingPongType values.
const (
	PPPing PingPongType = "ping"
	PPPong PingPongType = "pong"
)

// TrafficWeights is a traffic split as applied to the router.
type TrafficWeights struct {
	// Canary is the canary's share.
	Canary WeightDestination `json:"canary"`
	// Stable is the stable's share.
	Stable WeightDestination `json:"stable"`
	// Additional are shares of other ReplicaSets, such as experiments.
	Additional []WeightDestination `json:"additional,omitempty"`
	// Verified is whether the router confirmed the weights (ALB only).
	Verified *bool `json:"verified,omitempty"`
}

// WeightDestination is one destination of a traffic split.
type WeightDestination struct {
	// Weight is its share of traffic.
	Weight int32 `json:"weight"`
	// ServiceName is the Service receiving it.
	ServiceName string `json:"serviceName,omitempty"`
	// PodTemplateHash is the ReplicaSet hash behind the Service.
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// RolloutAnalysisRunStatus is a Rollout's view of one of its AnalysisRuns.
type RolloutAnalysisRunStatus struct {
	// Name of the AnalysisRun.
	Name string `json:"name"`
	// Status is the run's phase.
	Status AnalysisPhase `json:"status"`
	// Message is the run's message.
	Message string `json:"message,omitempty"`
}

// StepPluginStatus records one operation of a step plugin.
type StepPluginStatus struct {
	// Index of the canary step.
	Index int32 `json:"index"`
	// Name of the plugin.
	Name string `json:"name"`
	// Operation is Run, Terminate or Abort.
	Operation StepPluginOperation `json:"operation"`
	// Phase of the operation.
	Phase StepPluginPhase `json:"phase,omitempty"`
	// Message from the plugin.
	Message string `json:"message,omitempty"`
	// StartedAt is when the operation started.
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// UpdatedAt is when the status last changed.
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
	// FinishedAt is when the operation completed.
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Backoff is how long to wait before calling the plugin again.
	Backoff DurationString `json:"backoff,omitempty"`
	// Executions counts calls of the operation.
	Executions int32 `json:"executions,omitempty"`
	// Disabled is true when the plugin is globally disabled.
	Disabled bool `json:"disabled,omitempty"`
	// Status is the plugin's own state, returned to it on the next call.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status json.RawMessage `json:"status,omitempty"`
}

// StepPluginPhase is the phase of a step plugin operation.
type StepPluginPhase string

// StepPluginPhase values.
const (
	StepPluginPhaseRunning    StepPluginPhase = "Running"
	StepPluginPhaseSuccessful StepPluginPhase = "Successful"
	StepPluginPhaseFailed     StepPluginPhase = "Failed"
	StepPluginPhaseError      StepPluginPhase = "Error"
)

// Validate rejects a phase a plugin must not report.
func (p StepPluginPhase) Validate() error {
	switch p {
	case StepPluginPhaseRunning, StepPluginPhaseSuccessful, StepPluginPhaseFailed, StepPluginPhaseError:
		return nil
	}
	return fmt.Errorf("phase '%s' is not valid", p)
}

// StepPluginOperation is what the controller asked a step plugin to do.
type StepPluginOperation string

// StepPluginOperation values.
const (
	StepPluginOperationRun       StepPluginOperation = "Run"
	StepPluginOperationTerminate StepPluginOperation = "Terminate"
	StepPluginOperationAbort     StepPluginOperation = "Abort"
)

// BlueGreenStatus is the blue-green strategy's bookkeeping.
type BlueGreenStatus struct {
	// PreviewSelector is the hash the preview service points at.
	// +optional
	PreviewSelector string `json:"previewSelector,omitempty"`
	// ActiveSelector is the hash the active service points at.
	// +optional
	ActiveSelector string `json:"activeSelector,omitempty"`
	// ScaleUpPreviewCheckPoint is set once the preview may scale to full size.
	// +optional
	ScaleUpPreviewCheckPoint bool `json:"scaleUpPreviewCheckPoint,omitempty"`
	// PrePromotionAnalysisRunStatus is the pre-promotion run.
	PrePromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	// PostPromotionAnalysisRunStatus is the post-promotion run.
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}

// ALBStatus records the AWS resources behind one ALB ingress.
type ALBStatus struct {
	// LoadBalancer is the ALB.
	LoadBalancer AwsResourceRef `json:"loadBalancer,omitempty"`
	// CanaryTargetGroup is the canary's target group.
	CanaryTargetGroup AwsResourceRef `json:"canaryTargetGroup,omitempty"`
	// StableTargetGroup is the stable's target group.
	StableTargetGroup AwsResourceRef `json:"stableTargetGroup,omitempty"`
	// Ingress is the Ingress these belong to.
	Ingress string `json:"ingress,omitempty"`
}

// AwsResourceRef identifies an AWS resource.
type AwsResourceRef struct {
	// Name of the resource.
	Name string `json:"name"`
	// ARN of the resource.
	ARN string `json:"arn"`
	// FullName of the resource, as used in CloudWatch dimensions.
	// +optional
	FullName string `json:"fullName"`
}

// RolloutConditionType is the type of a RolloutCondition.
type RolloutConditionType string

// RolloutConditionType values.
const (
	InvalidSpec           RolloutConditionType = "InvalidSpec"
	RolloutAvailable      RolloutConditionType = "Available"
	RolloutProgressing    RolloutConditionType = "Progressing"
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
	RolloutPaused         RolloutConditionType = "Paused"
	RolloutCompleted      RolloutConditionType = "Completed"
	RolloutHealthy        RolloutConditionType = "Healthy"
)

// Condition reasons. The Progressing condition's reason is what clients
// inspect to tell an abort or a timeout from ordinary progress.
const (
	// InvalidSpecReason is the reason of the InvalidSpec condition.
	InvalidSpecReason = "InvalidSpec"
	// AvailableReason is the reason of the Available condition.
	AvailableReason = "AvailableReason"
	// NewReplicaSetReason: a new ReplicaSet was created.
	NewReplicaSetReason = "NewReplicaSetCreated"
	// FoundNewRSReason: an existing ReplicaSet was adopted as the new one.
	FoundNewRSReason = "FoundNewReplicaSet"
	// ReplicaSetUpdatedReason: a ReplicaSet was scaled or changed.
	ReplicaSetUpdatedReason = "ReplicaSetUpdated"
	// NewRSAvailableReason: the new ReplicaSet is fully available.
	NewRSAvailableReason = "NewReplicaSetAvailable"
	// RolloutPausedReason: the Rollout is paused.
	RolloutPausedReason = "RolloutPaused"
	// RolloutResumedReason: the Rollout was resumed.
	RolloutResumedReason = "RolloutResumed"
	// RolloutAbortedReason: the update was aborted.
	RolloutAbortedReason = "RolloutAborted"
	// RolloutRetryReason: an aborted update is being retried.
	RolloutRetryReason = "RolloutRetry"
	// TimedOutReason: progressDeadlineSeconds passed without progress.
	TimedOutReason = "ProgressDeadlineExceeded"
	// ReplicaSetNotAvailableReason: a promoted ReplicaSet lost availability.
	ReplicaSetNotAvailableReason = "ReplicaSetNotAvailable"
	// FailedRSCreateReason: the new ReplicaSet could not be created.
	FailedRSCreateReason = "ReplicaSetCreateError"
	// RolloutUpdatedReason: the spec changed to a new revision.
	RolloutUpdatedReason = "RolloutUpdated"
	// RolloutCompletedReason is the Completed condition's reason when done.
	RolloutCompletedReason = "RolloutCompleted"
	// RolloutNotCompletedReason is the Completed condition's reason while updating.
	RolloutNotCompletedReason = "RolloutNotCompleted"
	// RolloutHealthyReason is the Healthy condition's reason.
	RolloutHealthyReason = "RolloutHealthy"
)

// RolloutCondition is one condition of a Rollout.
type RolloutCondition struct {
	// Type of the condition.
	Type RolloutConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastUpdateTime is when the condition was last written.
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`
	// LastTransitionTime is when the status last changed.
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
	// Reason is a machine-readable cause.
	Reason string `json:"reason"`
	// Message is a human-readable explanation.
	Message string `json:"message"`
}
