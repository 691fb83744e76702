// Package duration keeps status.duration, the timing of a Rollout's latest
// update (Argo Rollouts v1.10): when it began, how long it waited on people,
// and how it ended. Next derives the record from the status before and
// after a reconcile; the reconciler writes it and, once the write has
// succeeded, feeds the records that ended to the duration histograms.
//
// An update begins with a new pod template (or the first deployment, or a
// retry after an abort) and ends:
//
//   - Promoted when the new version is stable and Healthy;
//   - FastPromoted likewise, after promote --full;
//   - Aborted when it is aborted (by a user, an analysis or the deadline);
//   - Superseded when a newer template replaces it first (a new update
//     begins at once);
//   - FastRolledBack when the template goes back to the stable version (or
//     to an older one that is fast-tracked) and that is Healthy;
//   - RolledBack when it goes back to an older revision that walks the
//     steps again, once that is Healthy.
//
// Time waiting on a person counts as manual pause: spec.paused, a pause step
// without a duration, a blue-green pause without autoPromotionSeconds and an
// inconclusive analysis or experiment. Timed pauses count as progression.
package duration

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Facts are what Next needs beyond the two statuses.
type Facts struct {
	// ManualPause is set while the Rollout waits on a person (see
	// ManualPause).
	ManualPause bool
	// RollbackTarget is set when the desired ReplicaSet is older than the
	// stable one: the template went back to an earlier revision.
	RollbackTarget bool
}

// Next returns status.duration after a reconcile that took the status from
// prev to next, and the records that ended in it (at most two: a superseded
// update and, rarely, its successor).
func Next(prev, next *v1alpha1.RolloutStatus, f Facts, now time.Time) (*v1alpha1.RolloutDuration, []v1alpha1.RolloutDuration) {
	var d *v1alpha1.RolloutDuration
	if prev.Duration != nil {
		d = prev.Duration.DeepCopy()
	}
	var ended []v1alpha1.RolloutDuration
	at := metav1.NewTime(now.Truncate(time.Second)) // what the status keeps
	inProgress := next.CurrentPodHash != "" && next.StableRS != next.CurrentPodHash
	complete := next.CurrentPodHash != "" && next.StableRS == next.CurrentPodHash && next.Phase == v1alpha1.RolloutPhaseHealthy

	switch {
	case prev.CurrentPodHash != "" && next.CurrentPodHash != prev.CurrentPodHash:
		// A new template.
		switch {
		case !inProgress:
			// Back to the stable version: it ends the update under way,
			// once Healthy.
			if open(d) {
				d.CompletionStatus = v1alpha1.CompletionFastRolledBack
			}
		case open(d) && f.RollbackTarget:
			// Back to an older revision: the same update, now a rollback.
			d.CompletionStatus = rollback(next.PromoteFull)
		default:
			if open(d) {
				ended = append(ended, finish(*d, v1alpha1.CompletionSuperseded, at))
			}
			d = &v1alpha1.RolloutDuration{RolloutStartedAt: &at}
			if f.RollbackTarget {
				d.CompletionStatus = rollback(next.PromoteFull)
			}
		}
	case d == nil && !complete && !next.Abort && next.CurrentPodHash != "":
		// The first deployment (or a Rollout updating when this
		// controller first saw it).
		d = &v1alpha1.RolloutDuration{RolloutStartedAt: &at}
	case d != nil && d.FinishedAt != nil && d.CompletionStatus == v1alpha1.CompletionAborted && inProgress && !next.Abort:
		// Retry after an abort: the update starts over.
		d = &v1alpha1.RolloutDuration{RolloutStartedAt: &at}
	}
	if !open(d) {
		return d, ended
	}

	if prev.PromoteFull || next.PromoteFull {
		switch d.CompletionStatus {
		case "":
			d.CompletionStatus = v1alpha1.CompletionFastPromoted
		case v1alpha1.CompletionRolledBack:
			d.CompletionStatus = v1alpha1.CompletionFastRolledBack
		}
	}
	switch {
	case f.ManualPause && d.ManualPauseStartedAt == nil:
		d.ManualPauseStartedAt = &at
	case !f.ManualPause && d.ManualPauseStartedAt != nil:
		closePause(d, at)
	}

	rollingBack := d.CompletionStatus == v1alpha1.CompletionRolledBack || d.CompletionStatus == v1alpha1.CompletionFastRolledBack
	switch {
	case next.Abort && !rollingBack:
		*d = finish(*d, v1alpha1.CompletionAborted, at)
		ended = append(ended, *d)
	case complete:
		status := d.CompletionStatus
		if status == "" {
			status = v1alpha1.CompletionPromoted
		}
		*d = finish(*d, status, at)
		ended = append(ended, *d)
	}
	return d, ended
}

func open(d *v1alpha1.RolloutDuration) bool { return d != nil && d.FinishedAt == nil }

func rollback(fast bool) v1alpha1.CompletionStatus {
	if fast {
		return v1alpha1.CompletionFastRolledBack
	}
	return v1alpha1.CompletionRolledBack
}

// finish ends d with status at at, closing a manual pause still open.
func finish(d v1alpha1.RolloutDuration, status v1alpha1.CompletionStatus, at metav1.Time) v1alpha1.RolloutDuration {
	if d.ManualPauseStartedAt != nil {
		closePause(&d, at)
	}
	d.FinishedAt, d.CompletionStatus = &at, status
	return d
}

// closePause adds the manual pause that began at d.ManualPauseStartedAt to
// the total, in whole seconds.
func closePause(d *v1alpha1.RolloutDuration, at metav1.Time) {
	secs := max(int64(at.Sub(d.ManualPauseStartedAt.Time)/time.Second), 0)
	if d.TotalManualPauseDurationSeconds != nil {
		secs += *d.TotalManualPauseDurationSeconds
	}
	d.TotalManualPauseDurationSeconds = &secs
	d.ManualPauseStartedAt = nil
}

// ManualPause reports whether the Rollout, with status st, waits on a
// person: spec.paused, or a pause condition only a person ends (a pause
// step without a duration, a blue-green pause without autoPromotionSeconds,
// an inconclusive analysis or experiment). Timed pauses do not count.
func ManualPause(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) bool {
	if ro.Spec.Paused {
		return true
	}
	for _, c := range st.PauseConditions {
		switch c.Reason {
		case v1alpha1.PauseReasonInconclusiveAnalysis, v1alpha1.PauseReasonInconclusiveExperiment:
			return true
		case v1alpha1.PauseReasonBlueGreenPause:
			if bg := ro.Spec.Strategy.BlueGreen; bg == nil || bg.AutoPromotionSeconds <= 0 {
				return true
			}
		case v1alpha1.PauseReasonCanaryPauseStep:
			if !timedStep(ro, st) {
				return true
			}
		}
	}
	return false
}

// timedStep reports whether the canary's current step is a pause with a
// duration.
func timedStep(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) bool {
	c := ro.Spec.Strategy.Canary
	if c == nil || st.CurrentStepIndex == nil || int(*st.CurrentStepIndex) >= len(c.Steps) || *st.CurrentStepIndex < 0 {
		return false
	}
	p := c.Steps[*st.CurrentStepIndex].Pause
	return p != nil && p.Duration != nil
}

// Seconds splits an ended record into its total, its progression (total
// less manual pauses) and its manual pauses, in seconds, for the
// histograms. ok is false for a record that has not ended.
func Seconds(d v1alpha1.RolloutDuration) (total, progression, manualPause float64, ok bool) {
	if d.RolloutStartedAt == nil || d.FinishedAt == nil || d.CompletionStatus == "" {
		return 0, 0, 0, false
	}
	total = max(d.FinishedAt.Sub(d.RolloutStartedAt.Time).Seconds(), 0)
	if d.TotalManualPauseDurationSeconds != nil {
		manualPause = float64(*d.TotalManualPauseDurationSeconds)
	}
	return total, max(total-manualPause, 0), manualPause, true
}
