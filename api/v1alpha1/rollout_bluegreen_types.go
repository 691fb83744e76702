package v1alpha1

import "k8s.io/apimachinery/pkg/util/intstr"

// BlueGreenStrategy runs the new version at full size behind a preview
// service and switches the active service to it on promotion.
type BlueGreenStrategy struct {
	// ActiveService is switched to the new ReplicaSet on promotion.
	ActiveService string `json:"activeService"`
	// PreviewService points at the new ReplicaSet as soon as it exists.
	// +optional
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount runs only this many new pods until promotion.
	// +optional
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled promotes without a pause when true (default true).
	// +optional
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// AutoPromotionSeconds promotes this long after the pause began.
	// +optional
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`
	// MaxUnavailable bounds unavailable pods during a restart (default 25%).
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// ScaleDownDelaySeconds keeps the previous active ReplicaSet up after the
	// switch (default 30).
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old ReplicaSets may wait in
	// the scale-down delay at once.
	// +optional
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// PrePromotionAnalysis must succeed before the active service switches.
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// AntiAffinity keeps new pods away from nodes running the active ones.
	// +optional
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// PostPromotionAnalysis runs after the switch; failure switches back.
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
	// PreviewMetadata is added to pods while they are the preview.
	PreviewMetadata *PodTemplateMetadata `json:"previewMetadata,omitempty"`
	// ActiveMetadata is added to pods while they are active.
	ActiveMetadata *PodTemplateMetadata `json:"activeMetadata,omitempty"`
	// AbortScaleDownDelaySeconds delays scaling the preview down after an
	// abort (default 30; 0 keeps it up).
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}
