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
)

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
