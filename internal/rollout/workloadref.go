package rollout

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// workload is what a workloadRef resolved to.
type workload struct {
	template   corev1.PodTemplateSpec
	selector   *metav1.LabelSelector
	generation int64
	deployment *appsv1.Deployment // set for Kind Deployment (scaleDown acts on it)
}

// resolveWorkloadRef copies the referenced workload's pod template (and, for
// a Deployment or ReplicaSet, its selector when the Rollout has none) into
// ro's spec in memory only; RolloutSpec.MarshalJSON keeps them out of any
// write. A missing or unsupported target is an *invalidSpec.
func (r *Reconciler) resolveWorkloadRef(ctx context.Context, ro *v1alpha1.Rollout) (*workload, error) {
	ref := ro.Spec.WorkloadRef
	key := types.NamespacedName{Namespace: ro.Namespace, Name: ref.Name}
	missing := func(err error) error {
		if apierrors.IsNotFound(err) {
			return &invalidSpec{fmt.Sprintf("spec.workloadRef: %s %q not found in namespace %q: create it or correct the name", ref.Kind, ref.Name, ro.Namespace)}
		}
		return fmt.Errorf("read workloadRef %s %s/%s: %w", ref.Kind, ro.Namespace, ref.Name, err)
	}
	var w workload
	switch ref.Kind {
	case "Deployment":
		var d appsv1.Deployment
		if err := r.Client.Get(ctx, key, &d); err != nil {
			return nil, missing(err)
		}
		w = workload{template: d.Spec.Template, selector: d.Spec.Selector, generation: d.Generation, deployment: &d}
	case "ReplicaSet":
		// Not from the cache: it only holds ReplicaSets with a rollouts hash.
		var rs appsv1.ReplicaSet
		if err := r.APIReader.Get(ctx, key, &rs); err != nil {
			return nil, missing(err)
		}
		w = workload{template: rs.Spec.Template, selector: rs.Spec.Selector, generation: rs.Generation}
	case "PodTemplate":
		var pt corev1.PodTemplate
		if err := r.Client.Get(ctx, key, &pt); err != nil {
			return nil, missing(err)
		}
		w = workload{template: pt.Template, generation: pt.Generation}
	default:
		return nil, &invalidSpec{fmt.Sprintf("spec.workloadRef.kind: Unsupported value: %q: use Deployment, ReplicaSet or PodTemplate", ref.Kind)}
	}
	ro.Spec.SetResolvedTemplate(w.template)
	if ro.Spec.Selector == nil && w.selector != nil {
		ro.Spec.SetResolvedSelector(w.selector.DeepCopy())
	}
	return &w, nil
}

// recordWorkloadGeneration notes the referenced workload's generation on the
// Rollout, the signal clients use to tell an unobserved change of the
// workload (phase Progressing until the controller catches up).
func (r *Reconciler) recordWorkloadGeneration(ctx context.Context, ro *v1alpha1.Rollout, gen int64) error {
	want := strconv.FormatInt(gen, 10)
	if ro.Annotations[v1alpha1.WorkloadGenerationAnnotation] == want {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.WorkloadGenerationAnnotation, want)
	// A fresh object: ro's spec holds the resolved template in memory.
	target := &v1alpha1.Rollout{}
	target.Namespace, target.Name = ro.Namespace, ro.Name
	if err := r.Client.Patch(ctx, target, rawMerge(patch)); err != nil {
		return fmt.Errorf("record workload generation on rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations[v1alpha1.WorkloadGenerationAnnotation] = want
	ro.ResourceVersion = target.ResourceVersion
	return nil
}
