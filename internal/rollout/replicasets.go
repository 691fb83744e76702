package rollout

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// createNewReplicaSet creates the new template's ReplicaSet at replicas
// and announces it; an existing one of ours is returned as it is.
func (r *Reconciler) createNewReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, replicas int32) (*appsv1.ReplicaSet, error) {
	rs.Spec.Replicas = &replicas
	created, err := r.createReplicaSet(ctx, ro, rs)
	if err != nil || created != rs {
		return created, err
	}
	rev := rs.Annotations[v1alpha1.RevisionAnnotation]
	// Argo Rollouts' order: the update, then the ReplicaSet, then its size.
	evs := []rules.Event{{Reason: rules.ReasonUpdated, Message: "Rollout updated to revision " + rev},
		{Reason: ReasonNewReplicaSetCreated, Message: fmt.Sprintf("Created ReplicaSet %s (revision %s)", rs.Name, rev)}}
	if replicas > 0 {
		evs = append(evs, rules.Event{Reason: ReasonScalingReplicaSet, Message: scalingMessage(rs.Name, rev, 0, replicas)})
	}
	return rs, r.journal(ctx, ro, evs)
}

// Event reasons the shell records itself (the planners' are theirs).
const (
	ReasonNewReplicaSetCreated = "NewReplicaSetCreated"
	ReasonScalingReplicaSet    = "ScalingReplicaSet"
	ReasonAddedToInformer      = "RolloutAddedToInformer"
)

// scalingMessage is the ScalingReplicaSet message in Argo Rollouts' words
// ("Scaled up ReplicaSet web-abc (revision 2) from 0 to 1").
func scalingMessage(name, revision string, from, to int32) string {
	dir := "up"
	if to < from {
		dir = "down"
	}
	return fmt.Sprintf("Scaled %s ReplicaSet %s (revision %s) from %d to %d", dir, name, revision, from, to)
}

// syncNewReplicaSet keeps an existing current ReplicaSet the newest
// revision — when a rollback makes an older one current again it gets the
// next revision number, its earlier ones kept in revision-history (undo and
// the CLI read these) — and its minReadySeconds in step with the Rollout.
func (r *Reconciler) syncNewReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, maxOtherRev int64) error {
	rev := roles.Revision(rs)
	if rev > maxOtherRev && rs.Spec.MinReadySeconds == ro.Spec.MinReadySeconds {
		return nil
	}
	orig := rs.DeepCopy()
	rs.Spec.MinReadySeconds = ro.Spec.MinReadySeconds
	if rev <= maxOtherRev {
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		if old := rs.Annotations[v1alpha1.RevisionAnnotation]; old != "" {
			if h := rs.Annotations[v1alpha1.RevisionHistoryAnnotation]; h != "" {
				rs.Annotations[v1alpha1.RevisionHistoryAnnotation] = h + "," + old
			} else {
				rs.Annotations[v1alpha1.RevisionHistoryAnnotation] = old
			}
		}
		next := strconv.FormatInt(maxOtherRev+1, 10)
		rs.Annotations[v1alpha1.RevisionAnnotation] = next
	}
	if err := r.Client.Patch(ctx, rs, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update revision of ReplicaSet %s: %w", rs.Name, err)
	}
	if rev <= maxOtherRev {
		return r.journal(ctx, ro, []rules.Event{{Reason: rules.ReasonUpdated, Message: "Rollout updated to revision " + rs.Annotations[v1alpha1.RevisionAnnotation]}})
	}
	return nil
}

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

// scaleReplicaSet sets spec.replicas (and the desired-replicas annotation the
// HPA scaling-event check reads) with a merge patch, only if it changes.
func (r *Reconciler) scaleReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, replicas int32) (bool, error) {
	desired := strconv.Itoa(int(ro.ReplicasOrDefault()))
	if rs.Spec.Replicas != nil && *rs.Spec.Replicas == replicas && rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == desired {
		return false, nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"replicas":%d}}`, v1alpha1.DesiredReplicasAnnotation, desired, replicas)
	if err := r.Client.Patch(ctx, rs, rawMerge(patch)); err != nil {
		return false, fmt.Errorf("scale ReplicaSet %s to %d: %w", rs.Name, replicas, err)
	}
	return true, nil
}
