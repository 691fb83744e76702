// Package revision decides the rollout.argoproj.io/revision annotation on
// the Rollout itself: the revision of its current (new) ReplicaSet, as Argo
// Rollouts keeps it and Argo CD shows it. The ReplicaSets' own revision
// numbers are decided where they are created and renumbered.
package revision

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Annotation returns the value the Rollout's revision annotation should
// have, given its new ReplicaSet, and whether a write is due (the Rollout
// does not carry that value yet). The value is the new ReplicaSet's
// revision: it changes when a new revision starts and when a rollback
// renumbers an older ReplicaSet. Without a new ReplicaSet, or one whose
// revision is not a positive number (it is being renumbered), nothing is
// written and the annotation stays as it is.
func Annotation(ro *v1alpha1.Rollout, newRS *appsv1.ReplicaSet) (string, bool) {
	if newRS == nil {
		return "", false
	}
	want := newRS.Annotations[v1alpha1.RevisionAnnotation]
	if n, err := strconv.ParseInt(want, 10, 64); err != nil || n < 1 {
		return "", false
	}
	if got, ok := ro.Annotations[v1alpha1.RevisionAnnotation]; ok && got == want {
		return want, false
	}
	return want, true
}
