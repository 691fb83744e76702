// Package v1alpha1 holds the Go types of the argoproj.io/v1alpha1 API that
// Aviary serves: Rollout, AnalysisTemplate, ClusterAnalysisTemplate,
// AnalysisRun and Experiment.
//
// The JSON shape of every type matches Argo Rollouts v1.9 field for field, so
// manifests written for Argo Rollouts decode, validate and re-encode
// unchanged. Field names, pointer-ness and omitempty behaviour are part of
// that contract: the pod-template hash is computed over the JSON encoding of
// spec.template, and clients (kubectl plugin, dashboards, Argo CD) write status
// fields directly with merge patches.
//
// +kubebuilder:object:generate=true
// +groupName=argoproj.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the API group shared with Argo Rollouts.
const Group = "argoproj.io"

var (
	// GroupVersion identifies this API: argoproj.io/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: Group, Version: "v1alpha1"}

	// SchemeBuilder registers every kind of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds all kinds of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource names as served by the API server, for dynamic clients and RBAC.
var (
	RolloutGVR                 = GroupVersion.WithResource("rollouts")
	AnalysisTemplateGVR        = GroupVersion.WithResource("analysistemplates")
	ClusterAnalysisTemplateGVR = GroupVersion.WithResource("clusteranalysistemplates")
	AnalysisRunGVR             = GroupVersion.WithResource("analysisruns")
	ExperimentGVR              = GroupVersion.WithResource("experiments")
)

// Kind names, for GroupVersionKind look-ups and owner references.
const (
	RolloutKind                 = "Rollout"
	AnalysisTemplateKind        = "AnalysisTemplate"
	ClusterAnalysisTemplateKind = "ClusterAnalysisTemplate"
	AnalysisRunKind             = "AnalysisRun"
	ExperimentKind              = "Experiment"
)

// Kind returns the group-qualified kind for a kind name of this group.
func Kind(kind string) schema.GroupKind {
	return GroupVersion.WithKind(kind).GroupKind()
}

// Resource returns the group-qualified resource for a resource name of this group.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Rollout{}, &RolloutList{},
		&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{},
		&Experiment{}, &ExperimentList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
