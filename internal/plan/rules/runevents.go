package rules

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// CurrentRuns are the runs a Rollout's status tracks, one per role, as a
// pass observed them: nil when there is none, or it belongs to an aborted
// attempt (that attempt told its outcome when it aborted).
type CurrentRuns struct {
	Step, Background, PrePromotion, PostPromotion *Run
}

// NoPreviousStatus is the previous phase a run event names when the status
// recorded no phase of that run.
const NoPreviousStatus = "NoPreviousStatus"

// runReasons maps each run phase to the reason of the event telling it.
var runReasons = map[v1alpha1.AnalysisPhase]string{
	v1alpha1.AnalysisPhasePending:      ReasonAnalysisRunPending,
	v1alpha1.AnalysisPhaseRunning:      ReasonAnalysisRunRunning,
	v1alpha1.AnalysisPhaseSuccessful:   ReasonAnalysisRunSuccessful,
	v1alpha1.AnalysisPhaseFailed:       ReasonAnalysisRunFailed,
	v1alpha1.AnalysisPhaseError:        ReasonAnalysisRunError,
	v1alpha1.AnalysisPhaseInconclusive: ReasonAnalysisRunInconclusive,
}

// RunEvents tells the new phases of the runs the Rollout tracks, one event
// per role whose current run has a phase the status recorded before this
// pass (before) did not — a status naming another run, an earlier one,
// counts as recording none, where Argo Rollouts tells nothing of the new
// run's first phase. The current run is compared, not the status this pass
// writes (after), so a run whose field the pass clears (an abort) still
// tells its failure. But an event is told only in the pass whose status
// write moves that record (after differs from before): a pass that leaves
// it (a user's pause holding the steps, a completed update's background
// run) would otherwise tell the same phase again on every pass until one
// records it. The events are in a fixed role order and depend on nothing
// else, so a pass redone from the same Rollout version tells the same.
func RunEvents(before, after *v1alpha1.RolloutStatus, current CurrentRuns) []Event {
	roles := []struct {
		label         string
		before, after *v1alpha1.RolloutAnalysisRunStatus
		run           *Run
	}{
		{v1alpha1.RolloutTypeStepLabel, before.Canary.CurrentStepAnalysisRunStatus, after.Canary.CurrentStepAnalysisRunStatus, current.Step},
		{v1alpha1.RolloutTypeBackgroundRunLabel, before.Canary.CurrentBackgroundAnalysisRunStatus, after.Canary.CurrentBackgroundAnalysisRunStatus, current.Background},
		{v1alpha1.RolloutTypePrePromotionLabel, before.BlueGreen.PrePromotionAnalysisRunStatus, after.BlueGreen.PrePromotionAnalysisRunStatus, current.PrePromotion},
		{v1alpha1.RolloutTypePostPromotionLabel, before.BlueGreen.PostPromotionAnalysisRunStatus, after.BlueGreen.PostPromotionAnalysisRunStatus, current.PostPromotion},
	}
	var evs []Event
	for _, r := range roles {
		if e, ok := runEvent(r.label, r.before, r.after, r.run); ok {
			evs = append(evs, e)
		}
	}
	return evs
}

// runEvent is the event telling run's phase for the role labelled label,
// if it is new (see RunEvents).
func runEvent(label string, before, after *v1alpha1.RolloutAnalysisRunStatus, run *Run) (Event, bool) {
	if run == nil {
		return Event{}, false
	}
	reason, ok := runReasons[run.Phase]
	if !ok || sameRecord(before, after) {
		return Event{}, false
	}
	previous := NoPreviousStatus
	if before != nil && before.Name == run.Name {
		if before.Status == run.Phase {
			return Event{}, false
		}
		previous = string(before.Status)
	}
	return Event{
		Warning: run.Phase == v1alpha1.AnalysisPhaseFailed || run.Phase == v1alpha1.AnalysisPhaseError,
		Reason:  reason,
		Message: fmt.Sprintf("%s Analysis Run '%s' Status New: '%s' Previous: '%s'", label, run.Name, run.Phase, previous),
	}, true
}

// sameRecord reports whether two status records name the same run in the
// same phase (or both none).
func sameRecord(a, b *v1alpha1.RolloutAnalysisRunStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Name == b.Name && a.Status == b.Status
}
