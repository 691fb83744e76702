// Package history decides which old ReplicaSets of a Rollout to delete:
// only those fully scaled down (no pods wanted, none left) and beyond
// spec.revisionHistoryLimit, oldest revision first.
package history

import (
	"cmp"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// ToDelete returns the ReplicaSets (from olds, which must exclude the new and
// stable ones) to delete so that at most limit scaled-down ones remain.
func ToDelete(olds []*appsv1.ReplicaSet, limit int32) []*appsv1.ReplicaSet {
	var idle []*appsv1.ReplicaSet
	for _, rs := range olds {
		if rs.DeletionTimestamp != nil {
			continue
		}
		// An unset spec.replicas means 1, so only an explicit 0 is idle.
		if rs.Spec.Replicas != nil && *rs.Spec.Replicas == 0 && rs.Status.Replicas == 0 {
			idle = append(idle, rs)
		}
	}
	excess := len(idle) - int(max(limit, 0))
	if excess <= 0 {
		return nil
	}
	slices.SortStableFunc(idle, func(a, b *appsv1.ReplicaSet) int {
		return cmp.Or(cmp.Compare(revision(a), revision(b)), a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return idle[:excess]
}

func revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	return n
}
