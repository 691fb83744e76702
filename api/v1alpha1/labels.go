package v1alpha1

// Label and annotation keys shared with Argo Rollouts. Other tools (the
// kubectl plugin, dashboards, Argo CD, notification triggers) read them, so
// the exact strings are part of the compatibility contract.
const (
	// DefaultRolloutUniqueLabelKey holds the pod-template hash on ReplicaSets,
	// their pods, and the selectors of the services and routers pinned to them.
	DefaultRolloutUniqueLabelKey = "rollouts-pod-template-hash"
	// DefaultReplicaSetScaleDownDeadlineAnnotationKey holds, on an old
	// ReplicaSet, the RFC 3339 time after which it may be scaled down.
	DefaultReplicaSetScaleDownDeadlineAnnotationKey = "scale-down-deadline"
	// ManagedByRolloutsKey marks Services and DestinationRules a Rollout
	// modifies without owning them; the value is the Rollout's name.
	ManagedByRolloutsKey = "argo-rollouts.argoproj.io/managed-by-rollouts"
	// DefaultReplicaSetRestartAnnotationKey is reserved for restart bookkeeping
	// on ReplicaSets (defined by Argo Rollouts, unused there).
	DefaultReplicaSetRestartAnnotationKey = "argo-rollouts.argoproj.io/restarted-after"
	// LabelControllerInstanceID assigns objects to one controller instance
	// (the --instance-id flag).
	LabelControllerInstanceID = "argo-rollouts.argoproj.io/controller-instance-id"

	// RolloutLabel is the prefix of the rollout.argoproj.io annotations.
	RolloutLabel = "rollout.argoproj.io"
	// RevisionAnnotation is the revision of a ReplicaSet (and of the Rollout,
	// and of the AnalysisRuns and Experiments created for it).
	RevisionAnnotation = RolloutLabel + "/revision"
	// RevisionHistoryAnnotation lists the earlier revisions a ReplicaSet served.
	RevisionHistoryAnnotation = RolloutLabel + "/revision-history"
	// DesiredReplicasAnnotation is the Rollout's replica count recorded on
	// its ReplicaSets, to tell scaling from updates.
	DesiredReplicasAnnotation = RolloutLabel + "/desired-replicas"
	// WorkloadGenerationAnnotation is the generation of the workloadRef
	// target, recorded on the Rollout.
	WorkloadGenerationAnnotation = RolloutLabel + "/workload-generation"
	// EphemeralMetadataAnnotation records on a ReplicaSet the role metadata
	// (canaryMetadata, stableMetadata, ...) currently applied to its pods.
	EphemeralMetadataAnnotation = RolloutLabel + "/ephemeral-metadata"
	// NotificationEngineAnnotation is where the notification engine records
	// what it already sent.
	NotificationEngineAnnotation = "notified.notifications.argoproj.io"

	// RolloutTypeLabel on an AnalysisRun says why the Rollout created it;
	// the values follow.
	RolloutTypeLabel = "rollout-type"
	// RolloutTypeStepLabel marks a run created by an analysis step.
	RolloutTypeStepLabel = "Step"
	// RolloutTypeBackgroundRunLabel marks a background run.
	RolloutTypeBackgroundRunLabel = "Background"
	// RolloutTypePrePromotionLabel marks a blue-green pre-promotion run.
	RolloutTypePrePromotionLabel = "PrePromotion"
	// RolloutTypePostPromotionLabel marks a blue-green post-promotion run.
	RolloutTypePostPromotionLabel = "PostPromotion"
	// RolloutCanaryStepIndexLabel is the step index that created a run.
	RolloutCanaryStepIndexLabel = "step-index"

	// ExperimentNameAnnotationKey names the Experiment on its ReplicaSets.
	ExperimentNameAnnotationKey = "experiment.argoproj.io/name"
	// ExperimentTemplateNameAnnotationKey names the experiment template on
	// its ReplicaSets.
	ExperimentTemplateNameAnnotationKey = "experiment.argoproj.io/template-name"

	// AnalysisRunNameAnnotationKey names the AnalysisRun on a metric Job.
	AnalysisRunNameAnnotationKey = "analysisrun.argoproj.io/name"
	// AnalysisRunNamespaceAnnotationKey is the AnalysisRun's namespace on a metric Job.
	AnalysisRunNamespaceAnnotationKey = "analysisrun.argoproj.io/namespace"
	// AnalysisRunMetricAnnotationKey names the metric on a metric Job.
	AnalysisRunMetricAnnotationKey = "analysisrun.argoproj.io/metric-name"
	// AnalysisRunUIDLabelKey is the AnalysisRun's UID on a metric Job.
	AnalysisRunUIDLabelKey = "analysisrun.argoproj.io/uid"
)
