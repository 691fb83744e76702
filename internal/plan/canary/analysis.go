package canary

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// Runs are the AnalysisRuns the update needs next; the shell creates those
// missing and terminates every other running run of the rollout.
type Runs struct {
	// Step asks for the run of the current analysis step.
	Step bool
	// Background asks for the background run (spec.strategy.canary.analysis).
	Background bool
}

// analysisStep decides an analysis step: done when its run passed; an abort
// (with the run's message) when it failed or errored; a pause
// (InconclusiveAnalysisRun) when inconclusive, which promote moves past.
func analysisStep(st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) (bool, []rules.Event) {
	p.Runs.Step = true
	run := obs.StepRun
	if st.Canary.CurrentStepAnalysisRunStatus = view(run); run == nil {
		return false, nil
	}
	switch run.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		if run.Passed {
			st.Canary.CurrentStepAnalysisRunStatus = nil
			return true, nil
		}
		return false, abortFor(st, obs, fmt.Sprintf("AnalysisRun %s was terminated before it took a successful measurement", run.Name), now)
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return false, abortFor(st, obs, runCause(run), now)
	case v1alpha1.AnalysisPhaseInconclusive:
		return inconclusive(st, v1alpha1.PauseReasonInconclusiveAnalysis, now)
	}
	return false, nil
}

// background keeps the background analysis going from its startingStep
// until the update completes, aborting or pausing on its outcome.
func background(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) []rules.Event {
	if st.CurrentStepIndex == nil || !backgroundAt(ro, st, obs, *st.CurrentStepIndex) {
		st.Canary.CurrentBackgroundAnalysisRunStatus = nil
		return nil
	}
	p.Runs.Background = true
	run := obs.BackgroundRun
	st.Canary.CurrentBackgroundAnalysisRunStatus = view(run)
	if run == nil {
		return nil
	}
	switch run.Phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return abortFor(st, obs, runCause(run), now)
	case v1alpha1.AnalysisPhaseInconclusive:
		if rules.HasPause(st, v1alpha1.PauseReasonInconclusiveAnalysis) || !st.ControllerPause {
			_, evs := inconclusive(st, v1alpha1.PauseReasonInconclusiveAnalysis, now)
			return evs
		}
	}
	return nil
}

// backgroundAt reports whether the background analysis runs at step idx
// of the update in st: from its startingStep until the update completes,
// unless promoted in full.
func backgroundAt(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, obs Observed, idx int32) bool {
	bg := ro.Spec.Strategy.Canary.Analysis
	return bg != nil && !st.PromoteFull && st.StableRS != "" && st.StableRS != obs.NewHash && idx >= ptrOr(bg.StartingStep, 0)
}

// inconclusive pauses with reason (InconclusiveAnalysisRun, or
// InconclusiveExperiment); once a user has cleared the pause (promote)
// while the controller still holds it, the step counts as done.
func inconclusive(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason, now time.Time) (bool, []rules.Event) {
	if rules.HasPause(st, reason) {
		return false, nil
	}
	if st.ControllerPause {
		st.ControllerPause = false
		return true, []rules.Event{{Reason: rules.ReasonResumed, Message: "Rollout is resumed"}}
	}
	st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: reason, StartTime: metav1.NewTime(now)})
	st.ControllerPause = true
	return false, []rules.Event{{Reason: rules.ReasonPaused, Message: fmt.Sprintf("Rollout is paused (%s)", reason)}}
}

// abortFor aborts the update because of cause (a failed run): the same
// state a user's abort leads to, with the cause in the message.
func abortFor(st *v1alpha1.RolloutStatus, obs Observed, cause string, now time.Time) []rules.Event {
	if st.Abort {
		return nil
	}
	at := metav1.NewTime(now)
	st.Abort, st.AbortedAt = true, &at
	st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
	st.CurrentStepIndex = new(int32(0))
	msg := fmt.Sprintf("Rollout aborted update to revision %s: %s", obs.Revision, cause)
	rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg, now)
	return []rules.Event{{Warning: true, Reason: rules.ReasonAborted, Message: msg}}
}

func runCause(run *rules.Run) string {
	if run.Message != "" {
		return run.Message
	}
	return fmt.Sprintf("AnalysisRun %s ended %s", run.Name, run.Phase)
}

func view(run *rules.Run) *v1alpha1.RolloutAnalysisRunStatus {
	if run == nil {
		return nil
	}
	return &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: run.Phase, Message: run.Message}
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}
