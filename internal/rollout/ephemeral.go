package rollout

import (
	"context"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// syncRoleMetadata brings each ReplicaSet's template, and its live pods, to
// the role metadata it should carry, removing what an earlier role added.
//
// Pods are not cached (they are needed only at these role changes), so the
// change is made in two writes: the template first, so pods created from now
// on carry the new role; then, once the live pods are patched from an
// uncached list, the ephemeral-metadata annotation that marks the change done.
// A controller killed in between finds the annotation unchanged and redoes
// the (idempotent) work.
func (r *Reconciler) syncRoleMetadata(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles) error {
	for set, desired := range roles.Metadata(ro, rs) {
		old := ephemeral.Recorded(set.Annotations)
		if ephemeral.Encode(old) == ephemeral.Encode(desired) {
			continue
		}
		labels, annotations := ephemeral.Swap(set.Spec.Template.Labels, set.Spec.Template.Annotations, old, desired)
		labels[v1alpha1.DefaultRolloutUniqueLabelKey] = set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if !maps.Equal(labels, set.Spec.Template.Labels) || !maps.Equal(annotations, set.Spec.Template.Annotations) {
			orig := set.DeepCopy()
			set.Spec.Template.Labels, set.Spec.Template.Annotations = labels, annotations
			if err := r.Client.Patch(ctx, set, client.MergeFrom(orig)); err != nil {
				return fmt.Errorf("update role metadata of ReplicaSet %s: %w", set.Name, err)
			}
		}
		if err := r.syncPodMetadata(ctx, set, old, desired); err != nil {
			return err
		}
		orig := set.DeepCopy()
		if set.Annotations == nil {
			set.Annotations = map[string]string{}
		}
		if enc := ephemeral.Encode(desired); enc != "" {
			set.Annotations[v1alpha1.EphemeralMetadataAnnotation] = enc
		} else {
			delete(set.Annotations, v1alpha1.EphemeralMetadataAnnotation)
		}
		if err := r.Client.Patch(ctx, set, client.MergeFrom(orig)); err != nil {
			return fmt.Errorf("record role metadata of ReplicaSet %s: %w", set.Name, err)
		}
	}
	return nil
}

// syncPodMetadata patches the ReplicaSet's live pods that lack the desired
// role metadata or still carry the old one.
func (r *Reconciler) syncPodMetadata(ctx context.Context, set *appsv1.ReplicaSet, old, desired *v1alpha1.PodTemplateMetadata) error {
	pods, err := r.podsOf(ctx, set)
	if err != nil {
		return err
	}
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			continue
		}
		labels, annotations := ephemeral.Swap(pod.Labels, pod.Annotations, old, desired)
		if maps.Equal(labels, pod.Labels) && maps.Equal(annotations, pod.Annotations) {
			continue
		}
		orig := pod.DeepCopy()
		pod.Labels, pod.Annotations = labels, annotations
		if err := r.Client.Patch(ctx, pod, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("update role metadata of pod %s: %w", pod.Name, err)
		}
	}
	return nil
}

// podsOf lists a ReplicaSet's pods straight from the API server: the
// controller keeps no pod cache, since it reads pods only at role changes and
// restarts.
func (r *Reconciler) podsOf(ctx context.Context, set *appsv1.ReplicaSet) ([]corev1.Pod, error) {
	var pods corev1.PodList
	hash := set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(set.Namespace), client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: hash}); err != nil {
		return nil, fmt.Errorf("list pods of ReplicaSet %s: %w", set.Name, err)
	}
	return pods.Items, nil
}
