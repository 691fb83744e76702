package rollout

import (
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// rollbackWithinWindow gathers what rules.WithinRollbackWindow decides on:
// the creation times of the new ReplicaSet (one that exists already: a
// ReplicaSet being created is never a rollback), the stable one and the
// others.
func rollbackWithinWindow(ro *v1alpha1.Rollout, rs roles) bool {
	if ro.Spec.RollbackWindow == nil || rs.newRS == nil || rs.stableRS == nil || rs.newRS == rs.stableRS || rs.newRS.CreationTimestamp.IsZero() {
		return false
	}
	var others []time.Time
	for _, o := range rs.others {
		others = append(others, o.CreationTimestamp.Time)
	}
	return rules.WithinRollbackWindow(ro.Spec.RollbackWindow, rs.newRS.CreationTimestamp.Time, rs.stableRS.CreationTimestamp.Time, others)
}
