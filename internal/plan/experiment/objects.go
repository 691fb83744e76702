package experiment

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// Kind is the Experiment's group, version and kind, for owner references.
var Kind = v1alpha1.GroupVersion.WithKind("Experiment")

// ReplicaSetName is the name of a template's ReplicaSet: <experiment>-<template>.
func ReplicaSetName(experiment, template string) string { return experiment + "-" + template }

// RunName is the name of an analysis' first AnalysisRun:
// <experiment>-<analysis>; later attempts add .1, .2…
func RunName(experiment, analysis string) string { return experiment + "-" + analysis }

// newReplicaSet is the ReplicaSet of template t, at 0 replicas: the pod
// template without any hash label, hashed (with the template's
// collisionCount) into the rollouts-pod-template-hash label of the
// ReplicaSet, its selector and its pods; annotated with the experiment and
// template names, which is how the controller finds it again.
//
// The hash is Kubernetes' Deployment hash, as Argo Rollouts' experiment
// controller computes it, not the Rollout's: a template copied from a
// Rollout's ReplicaSet (specRef stable or canary) must not get that
// ReplicaSet's hash, or the stable and canary Services, DestinationRule
// subsets and ReplicaSet selectors would take in the experiment's pods.
func newReplicaSet(ex *v1alpha1.Experiment, t v1alpha1.TemplateSpec, collisionCount *int32) *appsv1.ReplicaSet {
	tmpl := *t.Template.DeepCopy()
	delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	hash := podhash.LegacyPodTemplateHash(&tmpl, collisionCount)
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	sel := t.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	labels := map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}
	if id := ex.Labels[v1alpha1.LabelControllerInstanceID]; id != "" {
		labels[v1alpha1.LabelControllerInstanceID] = id
	}
	zero := int32(0)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ReplicaSetName(ex.Name, t.Name),
			Namespace:       ex.Namespace,
			Labels:          labels,
			Annotations:     ownerAnnotations(ex.Name, t.Name),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: t.MinReadySeconds, Selector: sel, Template: tmpl},
	}
}

func ownerAnnotations(experiment, template string) map[string]string {
	return map[string]string{
		v1alpha1.ExperimentNameAnnotationKey:         experiment,
		v1alpha1.ExperimentTemplateNameAnnotationKey: template,
	}
}

// servicePorts are a Service's ports for rs: one per container port, with
// its name and protocol, targeting the same port.
func servicePorts(rs *appsv1.ReplicaSet) []corev1.ServicePort {
	var ports []corev1.ServicePort
	for _, c := range rs.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			ports = append(ports, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.ContainerPort,
				TargetPort: intstr.FromInt32(p.ContainerPort)})
		}
	}
	return ports
}

// newService is template t's Service called name, selecting the pods of rs
// by their pod-template hash.
func newService(ex *v1alpha1.Experiment, t string, name string, rs *appsv1.ReplicaSet, ports []corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       ex.Namespace,
			Annotations:     ownerAnnotations(ex.Name, t),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]},
			Ports:    ports,
		},
	}
}

// ours reports whether obj is controlled by ex and annotated as one of its
// template's objects; it returns the template's name.
func ours(ex *v1alpha1.Experiment, obj metav1.Object) (string, bool) {
	ref := metav1.GetControllerOf(obj)
	a := obj.GetAnnotations()
	if ref == nil || ref.UID != ex.UID || a[v1alpha1.ExperimentNameAnnotationKey] != ex.Name {
		return "", false
	}
	t := a[v1alpha1.ExperimentTemplateNameAnnotationKey]
	return t, t != ""
}

// AttemptAnnotation on an Experiment's AnalysisRun is the status.availableAt
// of the attempt that created it. A run with the current value was created
// by this attempt (its creation may not have reached the status before a
// crash) and is adopted; one without belongs to an attempt before a retry.
const AttemptAnnotation = "experiment.aviary.dev/available-at"

// runMeta is the labels and annotations of an Experiment's AnalysisRun:
// analysisRunMetadata's, the controller instance id, and the attempt.
func runMeta(ex *v1alpha1.Experiment) (map[string]string, map[string]string) {
	labels := map[string]string{}
	annotations := map[string]string{}
	maps.Copy(labels, ex.Spec.AnalysisRunMetadata.Labels)
	maps.Copy(annotations, ex.Spec.AnalysisRunMetadata.Annotations)
	if id := ex.Labels[v1alpha1.LabelControllerInstanceID]; id != "" {
		labels[v1alpha1.LabelControllerInstanceID] = id
	}
	annotations[AttemptAnnotation] = attempt(ex.Status.AvailableAt)
	return labels, annotations
}

func attempt(t *metav1.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
