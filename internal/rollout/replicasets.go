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

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// roles are a Rollout's ReplicaSets sorted by what they are to it.
type roles struct {
	newRS    *appsv1.ReplicaSet
	stableRS *appsv1.ReplicaSet
	others   []*appsv1.ReplicaSet
}

func classify(rsList []*appsv1.ReplicaSet, newHash, stableHash string) roles {
	var r roles
	for _, rs := range rsList {
		h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		switch {
		case h == newHash:
			r.newRS = rs
			if h == stableHash {
				r.stableRS = rs
			}
		case h == stableHash && stableHash != "":
			r.stableRS = rs
		default:
			r.others = append(r.others, rs)
		}
	}
	return r
}

func revisionOf(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	return n
}

// newReplicaSet builds the ReplicaSet for the Rollout's current template:
// named <rollout>-<hash>, the hash added to its labels and selector, at 0
// replicas (scaling is a separate decision), one revision above the newest,
// with its pods' role metadata.
func newReplicaSet(ro *v1alpha1.Rollout, hash string, revision int64, role *v1alpha1.PodTemplateMetadata) *appsv1.ReplicaSet {
	tmpl := *ro.Spec.Template.DeepCopy()
	tmpl.Labels, tmpl.Annotations = ephemeral.Swap(tmpl.Labels, tmpl.Annotations, nil, role)
	if len(tmpl.Annotations) == 0 {
		tmpl.Annotations = nil
	}
	tmpl.Labels = withLabel(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	if c := ro.Spec.Strategy.Canary; c != nil && ro.Status.StableRS != hash {
		withAntiAffinity(&tmpl.Spec, c.AntiAffinity, ro.Status.StableRS, ro.Namespace)
	}
	sel := ro.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	annotations := map[string]string{
		v1alpha1.RevisionAnnotation:        strconv.FormatInt(revision, 10),
		v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(ro.ReplicasOrDefault())),
	}
	if enc := ephemeral.Encode(role); enc != "" {
		annotations[v1alpha1.EphemeralMetadataAnnotation] = enc
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            podhash.ReplicaSetName(ro.Name, hash),
			Namespace:       ro.Namespace,
			Labels:          tmpl.Labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        new(int32(0)),
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        tmpl,
		},
	}
}

func withLabel(in map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for key, val := range in {
		out[key] = val
	}
	out[k] = v
	return out
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
