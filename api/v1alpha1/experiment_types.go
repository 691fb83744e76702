package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=experiments,shortName=exp
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="Experiment status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// Experiment runs one or more ReplicaSets side by side for a while,
// optionally with analyses, and reports whether they succeeded.
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the experiment runs.
	Spec ExperimentSpec `json:"spec"`
	// Status is the observed state.
	Status ExperimentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExperimentList is a page of Experiments returned by list calls.
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	// Items are the Experiments.
	Items []Experiment `json:"items"`
}

// ExperimentSpec is what an Experiment runs.
type ExperimentSpec struct {
	// Templates are the ReplicaSets to run.
	Templates []TemplateSpec `json:"templates" patchStrategy:"merge" patchMergeKey:"name"`
	// Duration is how long to run once available (e.g. 30s, 5m); empty
	// means until the required analyses finish.
	// +optional
	Duration DurationString `json:"duration,omitempty"`
	// ProgressDeadlineSeconds is how long the ReplicaSets may take to become
	// available (default 600).
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// Terminate ends the experiment early.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
	// Analyses run against the experiment.
	Analyses []ExperimentAnalysisTemplateRef `json:"analyses,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// ScaleDownDelaySeconds keeps the ReplicaSets up after the end (default 30).
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// DryRun lists metrics whose result must not affect the analyses.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention overrides how many measurements are kept.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// AnalysisRunMetadata is added to the experiment's AnalysisRuns.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// TemplateSpec is one ReplicaSet of an Experiment.
type TemplateSpec struct {
	// Name of the template within the experiment.
	Name string `json:"name"`
	// Replicas is the pod count (default 1).
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// MinReadySeconds before a ready pod counts as available.
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// Selector of the ReplicaSet; it must match the template labels.
	Selector *metav1.LabelSelector `json:"selector"`
	// Template is the pod template.
	Template corev1.PodTemplateSpec `json:"template"`
	// Service asks for a Service in front of the template's pods.
	// +optional
	Service *TemplateService `json:"service,omitempty"`
}

// TemplateService asks for a Service for an experiment template.
type TemplateService struct {
	// Name of the Service; empty means one is generated.
	Name string `json:"name,omitempty"`
}

// TemplateStatusCode is the state of one experiment template.
type TemplateStatusCode string

// TemplateStatusCode values.
const (
	TemplateStatusProgressing TemplateStatusCode = "Progressing"
	TemplateStatusRunning     TemplateStatusCode = "Running"
	TemplateStatusSuccessful  TemplateStatusCode = "Successful"
	TemplateStatusFailed      TemplateStatusCode = "Failed"
	TemplateStatusError       TemplateStatusCode = "Error"
)

// Completed reports whether the template state is final.
func (c TemplateStatusCode) Completed() bool {
	switch c {
	case TemplateStatusSuccessful, TemplateStatusFailed, TemplateStatusError:
		return true
	}
	return false
}

// TemplateStatus is the observed state of one experiment template.
type TemplateStatus struct {
	// Name of the template.
	Name string `json:"name"`
	// Replicas is the number of non-terminated pods.
	Replicas int32 `json:"replicas"`
	// UpdatedReplicas is the number of pods with the template's spec.
	UpdatedReplicas int32 `json:"updatedReplicas"`
	// ReadyReplicas is the number of ready pods.
	ReadyReplicas int32 `json:"readyReplicas"`
	// AvailableReplicas is the number of available pods.
	AvailableReplicas int32 `json:"availableReplicas"`
	// CollisionCount disambiguates ReplicaSet names on hash collisions.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// Status of the template.
	Status TemplateStatusCode `json:"status,omitempty"`
	// Message explains the status.
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when the status last changed.
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// ServiceName is the Service created for the template.
	ServiceName string `json:"serviceName,omitempty"`
	// PodTemplateHash is the hash of the template's ReplicaSet.
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// ExperimentStatus is the observed state of an Experiment.
type ExperimentStatus struct {
	// Phase of the experiment.
	Phase AnalysisPhase `json:"phase,omitempty"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// TemplateStatuses are per template.
	TemplateStatuses []TemplateStatus `json:"templateStatuses,omitempty"`
	// AvailableAt is when every template became available; the duration
	// counts from it.
	AvailableAt *metav1.Time `json:"availableAt,omitempty"`
	// Conditions of the experiment.
	Conditions []ExperimentCondition `json:"conditions,omitempty"`
	// AnalysisRuns are the experiment's analyses.
	AnalysisRuns []ExperimentAnalysisRunStatus `json:"analysisRuns,omitempty"`
}

// ExperimentConditionType is the type of an ExperimentCondition.
type ExperimentConditionType string

// ExperimentConditionType values.
const (
	InvalidExperimentSpec    ExperimentConditionType = "InvalidSpec"
	ExperimentCompleted      ExperimentConditionType = "Completed"
	ExperimentProgressing    ExperimentConditionType = "Progressing"
	ExperimentRunning        ExperimentConditionType = "Running"
	ExperimentReplicaFailure ExperimentConditionType = "ReplicaFailure"
)

// ExperimentCondition is one condition of an Experiment.
type ExperimentCondition struct {
	// Type of the condition.
	Type ExperimentConditionType `json:"type"`
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

// ExperimentAnalysisTemplateRef is an analysis run against an Experiment.
type ExperimentAnalysisTemplateRef struct {
	// Name of this analysis within the experiment.
	Name string `json:"name"`
	// TemplateName is the AnalysisTemplate to instantiate.
	TemplateName string `json:"templateName"`
	// ClusterScope selects a ClusterAnalysisTemplate instead.
	// +optional
	ClusterScope *bool `json:"clusterScope,omitempty"`
	// Args fill the template's arguments.
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// RequiredForCompletion keeps the experiment running until this analysis ends.
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// IsClusterScope reports whether the reference is to a ClusterAnalysisTemplate.
func (r *ExperimentAnalysisTemplateRef) IsClusterScope() bool {
	return r.ClusterScope != nil && *r.ClusterScope
}

// ExperimentAnalysisRunStatus is an Experiment's view of one of its runs.
type ExperimentAnalysisRunStatus struct {
	// Name of the analysis within the experiment.
	Name string `json:"name"`
	// AnalysisRun is the run's object name.
	AnalysisRun string `json:"analysisRun"`
	// Phase of the run.
	Phase AnalysisPhase `json:"phase"`
	// Message of the run.
	Message string `json:"message,omitempty"`
}
