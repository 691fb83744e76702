package rollout

import (
	"context"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/duration"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// writeStatusTimed is writeStatus for the end of a sync (finish): after
// change, it derives status.duration from the status before and after, and
// once the write has gone through it records the updates that ended in the
// duration histograms. A failed write records nothing: the next sync
// derives the same ending again, so each is counted once.
func (r *Reconciler) writeStatusTimed(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles, change func(*v1alpha1.RolloutStatus)) error {
	var ended []v1alpha1.RolloutDuration
	err := r.writeStatus(ctx, ro, func(s *v1alpha1.RolloutStatus) {
		change(s)
		facts := duration.Facts{ManualPause: duration.ManualPause(ro, s), RollbackTarget: roles.RollbackTarget(rs)}
		s.Duration, ended = duration.Next(&ro.Status, s, facts, r.Now())
	})
	if err != nil {
		return err
	}
	for _, d := range ended {
		total, progression, pause, ok := duration.Seconds(d)
		if !ok {
			continue
		}
		metrics.ObserveRolloutDuration(string(d.CompletionStatus), total, progression, pause)
		if r.Log != nil {
			r.Log.InfoContext(ctx, "rollout update ended", "rollout", ro.Namespace+"/"+ro.Name, "status", d.CompletionStatus,
				"seconds", total, "progressionSeconds", progression, "manualPauseSeconds", pause)
		}
	}
	return nil
}
