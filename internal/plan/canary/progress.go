// Package canary decides, from what the controller observed and the clock,
// how a canary Rollout's status moves: resetting on a new template or new
// steps, fast-tracking a rollback to stable, pausing and resuming at pause
// steps, advancing steps and promoting the new ReplicaSet to stable. It
// never talks to the API server.
package canary

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/evidence"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
	"github.com/aviary-rollouts/aviary/internal/plan/steps"
)

// Progress is the outcome of one step decision.
type Progress struct {
	Status v1alpha1.RolloutStatus
	Events []rules.Event
	// RequeueAfter is when the decision may change by the clock alone
	// (a timed pause expiring); 0 means only a change will.
	RequeueAfter time.Duration
	// Runs are the AnalysisRuns the update needs now.
	Runs Runs
	// Experiment: the current experiment step's Experiment is still
	// needed; NewExperiment: one may be created if there is none (not
	// while the rollout is held).
	Experiment, NewExperiment bool
	// Call is a step plugin call to make before anything else; the
	// decision is made again with its answer.
	Call *pass.CallStepPlugin
}

// Observed is what Advance needs to know about the ReplicaSets.
type Observed struct {
	// NewHash is the pod-template hash of the Rollout's current template.
	NewHash string
	// StepHash is the hash of the current canary steps.
	StepHash string
	// AtDesiredReplicas is true when the new and stable ReplicaSets have the
	// counts the current step calls for, and those pods are available.
	AtDesiredReplicas bool
	// Revision is the new ReplicaSet's revision, for messages.
	Revision string
	// StepRun is the run of the current analysis step, if created.
	StepRun *rules.Run
	// BackgroundRun is the background analysis run of this revision, if
	// created; Evidence what its metrics have shown (evidence.Of).
	BackgroundRun *rules.Run
	Evidence      []evidence.Metric
	// StepExperiment is the Experiment of the current experiment step, if
	// created (pass.StepExperiment).
	StepExperiment *Experiment
	// RollbackWithinWindow: the new ReplicaSet is an older one within
	// spec.rollbackWindow (see WithinRollbackWindow).
	RollbackWithinWindow bool
	// PausedAt is the pause step the controller last held the rollout at
	// (status.controllerPauseStep, or the rules.PausedAtAnnotation an
	// earlier Aviary wrote; PausedAtValue's form), "" when unknown.
	PausedAt string
	// StepPlugins are the step plugins' configuration and what they
	// answered this reconcile.
	StepPlugins pass.StepPlugins
	// Weights is the data plane's weights read back (pass.Observed's),
	// nil when no router verifies them.
	Weights *pass.WeightCheck
}

// VerifyRetry is how soon weights not yet verified are read again (Argo
// Rollouts' ROLLOUT_VERIFY_RETRY_INTERVAL default).
const VerifyRetry = 10 * time.Second

// weightVerified reports whether the data plane is known to have canary
// weight w, or nothing verifies weights.
func weightVerified(obs Observed, w int32) bool {
	return obs.Weights == nil || (obs.Weights.Verified && obs.Weights.Weight == w)
}

// Advance moves the canary's step state one decision forward. ro is not
// modified; the returned status is a copy.
func Advance(ro *v1alpha1.Rollout, obs Observed, now time.Time) Progress {
	p := advance(ro, obs, now)
	if ro.Spec.Strategy.Canary.PingPong != nil && p.Status.StableRS != ro.Status.StableRS {
		// Each promotion swaps the ping and pong roles (the first one too).
		p.Status.Canary.StablePingPong = services.Swapped(ro.Status.Canary.StablePingPong)
	}
	settleEvidence(ro, &p.Status, obs.NewHash, now)
	rules.SettlePause(&p.Status, ro.Spec.Paused)
	// Any pause the controller holds at a step counts: a skip from an
	// inconclusive analysis step leaves the flag just the same.
	held := rules.HasPause(&p.Status, v1alpha1.PauseReasonCanaryPauseStep) || rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) ||
		rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveExperiment)
	if held && p.Status.CurrentStepIndex != nil {
		p.Status.ControllerPauseStep = PausedAtValue(p.Status.CurrentPodHash, *p.Status.CurrentStepIndex)
	}
	return p
}

// PausedAtValue names a pause step of a revision, as
// status.controllerPauseStep records it.
func PausedAtValue(hash string, step int32) string {
	return fmt.Sprintf("%s/%d", hash, step)
}

func advance(ro *v1alpha1.Rollout, obs Observed, now time.Time) Progress {
	st := *ro.Status.DeepCopy()
	p := Progress{}
	nSteps := int32(len(ro.Spec.Strategy.Canary.Steps))

	templateChanged := st.CurrentPodHash != obs.NewHash
	stepsChanged := st.CurrentStepHash != obs.StepHash
	if templateChanged || stepsChanged {
		st.CurrentPodHash, st.CurrentStepHash = obs.NewHash, obs.StepHash
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		st.Canary.CurrentExperiment = ""
		st.Canary.StepPluginStatuses = nil
		idx := int32(0)
		switch {
		case st.StableRS == "":
			// First deploy: nothing to compare against, straight to 100%.
			// Its ReplicaSet is the stable one at once, available or not,
			// as in Argo Rollouts: a second revision then surges against
			// it within maxSurge/maxUnavailable instead of taking every
			// pod. (Completed is True from here; Healthy and Available
			// wait for the pods.)
			idx = nSteps
			st.StableRS = obs.NewHash
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonCompleted,
				Message: fmt.Sprintf("Rollout completed update to revision %s (%s): %s", obs.Revision, obs.NewHash, rules.InitialDeploy)})
		case obs.NewHash == st.StableRS:
			// Re-applying the stable template mid-update: skip the steps.
			idx = nSteps
			if templateChanged {
				p.Events = append(p.Events, rules.Event{Reason: rules.ReasonSkipSteps, Message: "Rollback to stable ReplicaSets"})
			}
		case templateChanged && obs.RollbackWithinWindow:
			// promoteFull carries the fast track (no steps, no analysis)
			// to completion; see rollback.go.
			idx, st.PromoteFull = nSteps, true
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonSkipSteps, Message: rules.RollbackWithinWindowMessage})
		}
		if templateChanged {
			// A new revision supersedes an abort (and its Degraded phase).
			st.Abort, st.AbortedAt = false, nil
			rules.SetCondition(&st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.RolloutUpdatedReason,
				fmt.Sprintf("Rollout updated to revision %s", obs.Revision), now)
		}
		st.CurrentStepIndex = &idx
		p.Status = st
		return p
	}
	if st.CurrentStepIndex == nil {
		st.CurrentStepIndex = new(int32(0))
	}
	if st.PromoteFull && st.Abort {
		// promote --full on an aborted update lifts the abort, as in Argo
		// Rollouts: the user chose to go forward after all.
		st.Abort, st.AbortedAt = false, nil
	}
	aborted, events := handleAbort(&st, obs, now)
	p.Events = append(p.Events, events...)
	if !aborted {
		p.Events = append(p.Events, background(ro, &st, obs, &p, now)...)
		aborted = st.Abort
	}
	// An inconclusive run's pause holds the steps until a user promotes,
	// whichever run it was: a background run's too, or the steps would run
	// on under a rollout that reports itself paused, and the next
	// pause: {} would read that pause's flag as its own resume.
	held := rules.HasPause(&st, v1alpha1.PauseReasonInconclusiveAnalysis) || rules.HasPause(&st, v1alpha1.PauseReasonInconclusiveExperiment)
	if aborted || ro.Spec.Paused || held {
		if aborted {
			st.Canary.CurrentBackgroundAnalysisRunStatus, st.Canary.CurrentStepAnalysisRunStatus = nil, nil
			st.Canary.CurrentExperiment = ""
			p.Runs = Runs{}
			// Once the abort is written (and carried out: weights,
			// sizes), each plugin step that ran is asked to revert.
			if ro.Status.Abort && ro.Status.AbortedAt != nil {
				evs, call := plugins{ro: ro, st: &st, in: obs.StepPlugins, now: now}.abort()
				p.Events, p.Call = append(p.Events, evs...), call
			}
		} else if atExperimentStep(ro, &st) && obs.StepExperiment != nil {
			// A hold keeps the step's Experiment running (and named), as
			// Argo Rollouts does, but starts none.
			p.Experiment = true
			st.Canary.CurrentExperiment = obs.StepExperiment.Name
		}
		p.Status = st
		return p
	}
	// obs.AtDesiredReplicas was measured against the step the status was
	// at on entry: completion may only follow from it when that was already
	// the end. (Deciding it in the pass that reaches the end would make the
	// new version stable before it is scaled to 100%.)
	atEnd := *st.CurrentStepIndex >= nSteps
	if st.PromoteFull {
		st.CurrentStepIndex = &nSteps
		st.PauseConditions, st.ControllerPause = nil, false
	}
	pl := plugins{ro: ro, st: &st, in: obs.StepPlugins, now: now}
	if ro.Status.PromoteFull || (ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash) {
		// Promoted in full: a plugin step left running is stopped.
		evs, call := pl.terminate()
		if p.Events = append(p.Events, evs...); call != nil {
			p.Call, p.Status = call, st
			return p
		}
	} else {
		pl.retried()
	}

	idx := *st.CurrentStepIndex
	entryIndex := idx
	for idx < nSteps {
		step := ro.Spec.Strategy.Canary.Steps[idx]
		last := idx == nSteps-1
		// A last step already done waits only for evidence (below).
		waited := last && rules.AwaitingEvidence(&st)
		var done bool
		var requeue time.Duration
		switch {
		case waited:
			done, events = true, nil
		case step.Plugin != nil:
			done, requeue, events, p.Call = pl.run(idx, step.Plugin, obs)
		case step.Analysis != nil:
			done, events = analysisStep(&st, obs, &p, now)
		case step.Experiment != nil:
			done, events = experimentStep(&st, obs, &p, now)
		default:
			done, requeue, events = stepDone(&st, step, obs, now)
		}
		p.RequeueAfter = requeue
		if !done {
			p.Events = append(p.Events, events...)
		}
		if st.Abort {
			p.Runs, p.Experiment, p.NewExperiment = Runs{}, false, false
			st.Canary.CurrentExperiment = ""
			st.Canary.CurrentBackgroundAnalysisRunStatus, st.Canary.CurrentStepAnalysisRunStatus = nil, nil
			p.Status = st
			return p
		}
		if !done {
			break
		}
		if changesWeight(step) && !waited {
			markWeight(&st, now)
		}
		if last {
			// No promotion without evidence: the final step waits for
			// the background analysis to measure the canary at its
			// current weight (internal/plan/evidence).
			if held, told := promotionHeld(ro, &st, obs); held {
				p.Events = append(p.Events, events...)
				p.Events = append(p.Events, told...)
				break
			}
		}
		p.Runs.Step, p.Experiment, p.NewExperiment = false, false, false
		idx++
		st.CurrentStepIndex = &idx
		// A resume belongs to the step it was given at: the steps after
		// it pause again.
		rules.SettlePause(&st, false)
		// The step's own events (RolloutResumed) follow its completion,
		// the order Argo Rollouts records and runbooks read.
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonStepCompleted,
			Message: fmt.Sprintf("Rollout step %d/%d completed (%s)", idx, nSteps, steps.String(step))})
		p.Events = append(p.Events, events...)
		p.RequeueAfter = 0
		// A following pause or route step is taken in the same pass (one
		// status write, not several): they depend only on the clock or on
		// nothing. Any other step needs readiness measured against its own
		// weight, on the next pass.
		if idx >= nSteps || !instant(ro.Spec.Strategy.Canary.Steps[idx]) {
			break
		}
	}
	if !p.Experiment {
		st.Canary.CurrentExperiment = ""
	}
	// The full weight reaches the data plane before the new version
	// becomes stable, as Argo Rollouts holds the end of an update (the
	// shell checks it only where that applies: not without steps).
	endVerified := !atEnd || st.StableRS == obs.NewHash || weightVerified(obs, ro.MaxTrafficWeight())
	if !endVerified && obs.AtDesiredReplicas {
		p.RequeueAfter = VerifyRetry
	}
	if atEnd && st.StableRS != obs.NewHash && obs.AtDesiredReplicas && endVerified {
		st.StableRS = obs.NewHash
		st.PromoteFull = false
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonCompleted, Message: fmt.Sprintf("Rollout completed update to revision %s (%s): Completed all %d canary steps", obs.Revision, obs.NewHash, nSteps)})
	}
	if *st.CurrentStepIndex != entryIndex || st.StableRS != ro.Status.StableRS {
		// The steps moved (or the update completed) in this pass: the
		// background analysis is asked for at the step the status now
		// reports, so a run due from here exists before a status saying
		// "paused at step k" does (and one no longer due is stopped).
		p.Runs.Background = false
		p.Events = append(p.Events, background(ro, &st, obs, &p, now)...)
	}
	p.Status = st
	return p
}

// atExperimentStep reports whether the status is at an experiment step.
func atExperimentStep(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) bool {
	steps := ro.Spec.Strategy.Canary.Steps
	return st.CurrentStepIndex != nil && int(*st.CurrentStepIndex) < len(steps) && steps[*st.CurrentStepIndex].Experiment != nil
}

// instant reports steps that need no readiness measured at their own
// weight: pauses, and header and mirror routes.
func instant(s v1alpha1.CanaryStep) bool {
	return s.Pause != nil || s.SetHeaderRoute != nil || s.SetMirrorRoute != nil
}

// stepDone reports whether the current step is complete, updating pause
// bookkeeping in st.
func stepDone(st *v1alpha1.RolloutStatus, step v1alpha1.CanaryStep, obs Observed, now time.Time) (bool, time.Duration, []rules.Event) {
	switch {
	case step.SetWeight != nil:
		// A weight the data plane has not taken yet holds the step.
		if obs.AtDesiredReplicas && !weightVerified(obs, *step.SetWeight) {
			return false, VerifyRetry, nil
		}
		return obs.AtDesiredReplicas, 0, nil
	case step.SetCanaryScale != nil:
		return obs.AtDesiredReplicas, 0, nil
	case step.Pause != nil:
		return pauseDone(st, *step.Pause, obs, now)
	case step.SetHeaderRoute != nil, step.SetMirrorRoute != nil:
		// Done at once: the traffic reconcile applies every route step up
		// to the current index (weights.RoutesAt), in this same pass.
		return true, 0, nil
	}
	// Analysis, experiment and plugin steps are decided elsewhere;
	// until then they hold the rollout where it is.
	return false, 0, nil
}

// pauseDone handles a pause step: the first visit adds the CanaryPauseStep
// condition; a user clearing the conditions (controllerPause still true)
// resumes; a duration elapses on its own.
//
// The flag alone does not say which step was resumed: Argo CD's
// skip-current-step clears the conditions and moves currentStepIndex at
// once, leaving the flag of the pause it skipped. Landing on another pause
// step that way is not a resume of it (Argo Rollouts takes it for one and
// passes the gate); obs.PausedAt, the step the controller last held, tells
// the two apart. Without it (a rollout paused before Aviary recorded it)
// the flag is taken as a resume, as before.
func pauseDone(st *v1alpha1.RolloutStatus, pause v1alpha1.RolloutPause, obs Observed, now time.Time) (bool, time.Duration, []rules.Event) {
	var cond *v1alpha1.PauseCondition
	for i := range st.PauseConditions {
		if st.PauseConditions[i].Reason == v1alpha1.PauseReasonCanaryPauseStep {
			cond = &st.PauseConditions[i]
		}
	}
	if cond == nil {
		moved := obs.PausedAt != "" && st.CurrentStepIndex != nil && obs.PausedAt != PausedAtValue(st.CurrentPodHash, *st.CurrentStepIndex)
		if st.ControllerPause && !moved {
			// The user resumed (promote cleared the conditions).
			st.ControllerPause = false
			return true, 0, []rules.Event{{Reason: rules.ReasonResumed, Message: "Rollout is resumed"}}
		}
		st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(now)})
		st.ControllerPause = true
		var requeue time.Duration
		if d := pause.DurationSeconds(); d > 0 {
			requeue = time.Duration(d) * time.Second
		}
		return false, requeue, []rules.Event{{Reason: rules.ReasonPaused, Message: "Rollout is paused (CanaryPauseStep)"}}
	}
	d := pause.DurationSeconds()
	if d <= 0 {
		return false, 0, nil // indefinite: wait for promote
	}
	expiry := cond.StartTime.Add(time.Duration(d) * time.Second)
	if now.Before(expiry) {
		return false, expiry.Sub(now), nil
	}
	st.PauseConditions = rules.RemovePause(st.PauseConditions, v1alpha1.PauseReasonCanaryPauseStep)
	st.ControllerPause = false
	return true, 0, []rules.Event{{Reason: rules.ReasonResumed, Message: "Rollout is resumed"}}
}
