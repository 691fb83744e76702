package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// errCollision means the ReplicaSet name is taken by one that is not ours.
var errCollision = fmt.Errorf("pod-template hash collision")

// createReplicaSet creates the new ReplicaSet, adopting an existing one of
// the same name when it is this Rollout's with the same template (a stale
// cache), and reporting errCollision when the name belongs to something else.
func (r *Reconciler) createReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	err := r.Client.Create(ctx, rs)
	if err == nil {
		return rs, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create ReplicaSet %s for rollout %s: %w", rs.Name, ro.Name, err)
	}
	var existing appsv1.ReplicaSet
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: rs.Namespace, Name: rs.Name}, &existing); err != nil {
		return nil, fmt.Errorf("read existing ReplicaSet %s: %w", rs.Name, err)
	}
	owner := metav1.GetControllerOf(&existing)
	if owner != nil && owner.UID == ro.UID && equality.Semantic.DeepEqual(existing.Spec.Template, rs.Spec.Template) {
		return &existing, nil
	}
	return nil, errCollision
}
