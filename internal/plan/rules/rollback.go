package rules

import (
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// RollbackWithinWindowMessage is the SkipSteps event of a rollback fast-
// tracked by spec.rollbackWindow (Argo Rollouts' wording).
const RollbackWithinWindowMessage = "Rollback to active ReplicaSets within RollbackWindow"

// WithinRollbackWindow reports whether going back to the ReplicaSet created
// at target skips the steps and analysis under spec.rollbackWindow: the
// target is older than the stable ReplicaSet (created at stable) and fewer
// than window.revisions ReplicaSets were created between the two (others
// are the creation times of the Rollout's other ReplicaSets). So with
// revisions: 1 only the ReplicaSet just before the stable is fast-tracked;
// anything older goes through the steps and analysis again, as does any
// rollback without a window. Ties in creation time (one-second resolution)
// count as not between.
func WithinRollbackWindow(window *v1alpha1.RollbackWindowSpec, target, stable time.Time, others []time.Time) bool {
	if window == nil || window.Revisions <= 0 || !target.Before(stable) {
		return false
	}
	between := int32(0)
	for _, t := range others {
		if t.After(target) && t.Before(stable) {
			between++
		}
	}
	return between < window.Revisions
}
