package v1alpha1

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=rollouts,shortName=ro
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.HPAReplicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Desired",type="integer",JSONPath=".spec.replicas",description="Number of desired pods"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="Total number of non-terminated pods targeted by this rollout"
// +kubebuilder:printcolumn:name="Up-to-date",type="integer",JSONPath=".status.updatedReplicas",description="Total number of non-terminated pods targeted by this rollout that have the desired template spec"
// +kubebuilder:printcolumn:name="Available",type="integer",JSONPath=".status.availableReplicas",description="Total number of available pods (ready for at least minReadySeconds) targeted by this rollout"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// Rollout replaces a Deployment with a progressive (canary or blue-green)
// update strategy driven by steps, traffic routers and analysis.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec RolloutSpec `json:"spec"`
	// Status is the observed state.
	Status RolloutStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RolloutList is a page of Rollouts returned by list calls.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	// Items are the Rollouts.
	Items []Rollout `json:"items"`
}

// RolloutSpec is the desired state of a Rollout.
type RolloutSpec struct {
	// TemplateResolvedFromRef is set in memory when Template was copied from
	// the workloadRef target; such a template is never written back.
	TemplateResolvedFromRef bool `json:"-"`
	// SelectorResolvedFromRef is set in memory when Selector was copied from
	// the workloadRef target; such a selector is never written back.
	SelectorResolvedFromRef bool `json:"-"`

	// Replicas is the desired pod count; nil means 1 (the controller writes
	// the default back so that the scale subresource works).
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector picks the pods (and ReplicaSets) this Rollout owns. It must
	// match the template labels and cannot change after creation.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.selector is immutable: restore the previous selector, or delete and re-create the Rollout to change it"
	Selector *metav1.LabelSelector `json:"selector"`
	// Template is the pod template; optional when workloadRef provides it.
	// +optional
	Template corev1.PodTemplateSpec `json:"template"`
	// WorkloadRef borrows the pod template (and selector) from another workload.
	// +optional
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`
	// MinReadySeconds is how long a ready pod must stay ready before it counts
	// as available.
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RollbackWindow fast-tracks rollbacks to recent revisions.
	// +optional
	RollbackWindow *RollbackWindowSpec `json:"rollbackWindow,omitempty"`
	// Strategy selects canary or blue-green updates.
	// +optional
	Strategy RolloutStrategy `json:"strategy"`
	// RevisionHistoryLimit is how many old, scaled-down ReplicaSets to keep
	// (default 10).
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused halts progress at the current step until cleared.
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds is how long an update may make no progress
	// before it is reported as degraded (default 600).
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// ProgressDeadlineAbort also aborts the update when the deadline passes.
	// +optional
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// RestartAt asks for every pod created before this time to be replaced.
	RestartAt *metav1.Time `json:"restartAt,omitempty"`
	// Analysis limits how many finished AnalysisRuns and Experiments are kept.
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`
}

// rolloutSpecFields has RolloutSpec's fields without its JSON methods.
type rolloutSpecFields RolloutSpec

// MarshalJSON encodes the spec, leaving out a template or selector that was
// only resolved from workloadRef in memory, so that it is never persisted.
func (s RolloutSpec) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(rolloutSpecFields(s))
	if err != nil || (!s.TemplateResolvedFromRef && !s.SelectorResolvedFromRef) {
		return data, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	if s.TemplateResolvedFromRef {
		delete(fields, "template")
	}
	if s.SelectorResolvedFromRef {
		delete(fields, "selector")
	}
	return json.Marshal(fields)
}

// SetResolvedSelector stores a selector taken from the workloadRef target.
func (s *RolloutSpec) SetResolvedSelector(selector *metav1.LabelSelector) {
	s.SelectorResolvedFromRef = true
	s.Selector = selector
}

// SetResolvedTemplate stores a pod template taken from the workloadRef target.
func (s *RolloutSpec) SetResolvedTemplate(template corev1.PodTemplateSpec) {
	s.TemplateResolvedFromRef = true
	s.Template = template
}

// EmptyTemplate reports whether the template carries neither labels nor
// annotations, which is how a missing template (workloadRef) is recognised.
func (s *RolloutSpec) EmptyTemplate() bool {
	return len(s.Template.Labels) == 0 && len(s.Template.Annotations) == 0
}

// ObjectRef points at the workload whose pod template a Rollout uses.
type ObjectRef struct {
	// APIVersion of the referenced workload, e.g. apps/v1.
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the referenced workload: Deployment, ReplicaSet or PodTemplate.
	Kind string `json:"kind,omitempty"`
	// Name of the referenced workload in the Rollout's namespace.
	Name string `json:"name,omitempty"`
	// ScaleDown is never (default), onsuccess or progressively.
	ScaleDown string `json:"scaleDown,omitempty"`
}

// Values of ObjectRef.ScaleDown: what happens to a referenced Deployment.
const (
	ScaleDownNever         = "never"
	ScaleDownOnSuccess     = "onsuccess"
	ScaleDownProgressively = "progressively"
)

// RollbackWindowSpec bounds the fast-tracked rollback.
type RollbackWindowSpec struct {
	// Revisions is how many recent revisions a rollback may target and
	// still skip steps and analysis.
	Revisions int32 `json:"revisions,omitempty"`
}

// AnalysisRunStrategy limits the history of finished AnalysisRuns and
// Experiments kept per Rollout.
type AnalysisRunStrategy struct {
	// SuccessfulRunHistoryLimit is how many Successful runs to keep (default 5).
	SuccessfulRunHistoryLimit *int32 `json:"successfulRunHistoryLimit,omitempty"`
	// UnsuccessfulRunHistoryLimit is how many Failed, Error or Inconclusive
	// runs to keep (default 5).
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// RolloutStrategy holds exactly one update strategy.
// +kubebuilder:validation:XValidation:rule="!(has(self.canary) && has(self.blueGreen))",message="spec.strategy sets both canary and blueGreen: keep exactly one of them"
type RolloutStrategy struct {
	// BlueGreen switches a service between two full-size ReplicaSets.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	// Canary shifts pods and traffic to the new version step by step.
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`
}

// PodTemplateMetadata is extra pod labels and annotations applied while a
// ReplicaSet holds a role (canary, stable, preview, active) or to an
// experiment's ReplicaSet.
type PodTemplateMetadata struct {
	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// AntiAffinity asks for the new pods to avoid nodes running the stable ones.
// Exactly one of the two rules should be set.
type AntiAffinity struct {
	// PreferredDuringSchedulingIgnoredDuringExecution injects a soft rule.
	// +optional
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	// RequiredDuringSchedulingIgnoredDuringExecution injects a hard rule.
	// +optional
	RequiredDuringSchedulingIgnoredDuringExecution *RequiredDuringSchedulingIgnoredDuringExecution `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PreferredDuringSchedulingIgnoredDuringExecution is a soft anti-affinity rule.
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	// Weight of the injected preference, 1 to 100.
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution is a hard anti-affinity
// rule; it has no settings.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}
