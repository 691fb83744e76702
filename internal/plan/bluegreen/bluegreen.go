// Package bluegreen decides, from what the controller observed and the
// clock, how a blue-green Rollout moves: the new ReplicaSet comes up behind
// the preview Service (at previewReplicaCount if set), pre-promotion
// analysis must pass, a BlueGreenPause holds it when asked, the new
// ReplicaSet is scaled to full size, the active Service switches to it,
// post-promotion analysis must pass, and then it becomes the stable one.
// Failed analysis or a user abort sends the active Service back to the
// stable ReplicaSet. It never talks to the API server.
package bluegreen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// Observed is what Advance needs to know beyond the Rollout.
type Observed struct {
	// NewHash is the pod-template hash of the Rollout's template.
	NewHash string
	// Revision is the new ReplicaSet's revision, for messages.
	Revision string
	// NewReplicas and NewAvailable are the new ReplicaSet's spec size and
	// available pods.
	NewReplicas, NewAvailable int32
	// ActiveSelector is the hash the active Service selects now.
	ActiveSelector string
	// PreRun and PostRun are this attempt's pre- and post-promotion runs,
	// when created.
	PreRun, PostRun *rules.Run
	// FastRollback is set when the new ReplicaSet is an earlier revision
	// still waiting out its scale-down delay, so it has every pod up: it is
	// promoted at once, without analysis or pause.
	FastRollback bool
	// RollbackWithinWindow: the new ReplicaSet is an older one within
	// spec.rollbackWindow (rules.WithinRollbackWindow); it is promoted at
	// once as well.
	RollbackWithinWindow bool
	// TargetsUnverified: the load balancer has not registered the pods the
	// active Service now selects yet (--aws-verify-target-group).
	TargetsUnverified bool
}

// VerifyRetry is how soon unregistered targets are checked again.
const VerifyRetry = 10 * time.Second

// Runs are the AnalysisRuns the update needs now; the shell creates those
// missing and terminates the rest.
type Runs struct {
	Pre, Post bool
}

// Progress is the outcome of one decision.
type Progress struct {
	Status v1alpha1.RolloutStatus
	Events []rules.Event
	// RequeueAfter is when the decision may change by the clock alone.
	RequeueAfter time.Duration
	Runs         Runs
	// NewReplicas is the size the new ReplicaSet should have.
	NewReplicas int32
	// Active and Preview are the hashes the active and preview Services
	// should select ("" leaves a Service as it is).
	Active, Preview string
	// resumedInconclusive: a user promoted past an inconclusive run in
	// this pass.
	resumedInconclusive bool
}

// Advance moves a blue-green Rollout one decision forward. ro is not
// modified; the returned status is a copy.
func Advance(ro *v1alpha1.Rollout, obs Observed, now time.Time) Progress {
	p := advance(ro, obs, now)
	rules.SettlePause(&p.Status, ro.Spec.Paused)
	return p
}

func advance(ro *v1alpha1.Rollout, obs Observed, now time.Time) Progress {
	st := *ro.Status.DeepCopy()
	p := Progress{Preview: obs.NewHash}
	bg := ro.Spec.Strategy.BlueGreen
	replicas := ro.ReplicasOrDefault()

	if st.CurrentPodHash != obs.NewHash {
		st.CurrentPodHash = obs.NewHash
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		st.BlueGreen.ScaleUpPreviewCheckPoint = false
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus = nil, nil
		st.Abort, st.AbortedAt = false, nil
		rules.SetCondition(&st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.RolloutUpdatedReason,
			fmt.Sprintf("Rollout updated to revision %s", obs.Revision), now)
		switch {
		case st.StableRS != "" && obs.NewHash == st.StableRS:
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonSkipSteps, Message: "Rollback to stable ReplicaSets"})
		case st.StableRS != "" && obs.FastRollback:
			// promoteFull is the memory of the fast track across reconciles.
			st.PromoteFull = true
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonSkipSteps, Message: "Fast rollback to a ReplicaSet within its scale-down delay"})
		case st.StableRS != "" && obs.RollbackWithinWindow:
			st.PromoteFull = true
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonSkipSteps, Message: rules.RollbackWithinWindowMessage})
		}
	}

	if st.StableRS == "" || st.StableRS == obs.NewHash {
		// First deploy, or the template is the stable one again: serve it
		// at full size on both Services.
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		p.NewReplicas, p.Active = replicas, obs.NewHash
		if st.StableRS == "" {
			// The first revision is the stable one at once, available or
			// not (as in Argo Rollouts), so the next revision is previewed
			// beside it rather than replacing it.
			st.StableRS = obs.NewHash
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonCompleted,
				Message: fmt.Sprintf("Rollout completed update to revision %s (%s): %s", obs.Revision, obs.NewHash, rules.InitialDeploy)})
		}
		p.Status = st
		return p
	}

	if st.PromoteFull && st.Abort {
		// promote --full on an aborted update lifts the abort, as in Argo
		// Rollouts.
		st.Abort, st.AbortedAt = false, nil
	}
	if handleAbort(&st, obs, &p, now) {
		p.Status = st
		return p
	}
	// From here an update is in progress: the active Service stays on the
	// stable until promotion switches it.
	p.Active = st.StableRS
	if ro.Spec.Paused {
		p.NewReplicas = obs.NewReplicas
		if obs.ActiveSelector == obs.NewHash {
			p.Active = obs.NewHash
		}
		p.Status = st
		return p
	}

	switched := obs.ActiveSelector == obs.NewHash
	if !switched && !st.BlueGreen.ScaleUpPreviewCheckPoint {
		size := replicas
		if bg.PreviewReplicaCount != nil && !st.PromoteFull {
			size = min(max(*bg.PreviewReplicaCount, 0), replicas)
		}
		p.NewReplicas = size
		if obs.NewReplicas != size || obs.NewAvailable < size {
			p.Status = st
			return p // the preview is not up yet
		}
		if !st.PromoteFull && !prePromotion(bg, &st, obs, &p, now) {
			p.Status = st
			return p
		}
		// A user's promote past an inconclusive pre-promotion run is the
		// promotion itself: asking for another at the BlueGreenPause would
		// judge the run again on the next pass and pause once more.
		if !st.PromoteFull && !p.resumedInconclusive && !pauseDone(bg, &st, &p, now) {
			p.Status = st
			return p
		}
		st.BlueGreen.ScaleUpPreviewCheckPoint = true
	}
	// Promotion is decided: full size, then the switch.
	p.NewReplicas = replicas
	if !switched {
		if obs.NewReplicas == replicas && obs.NewAvailable >= replicas {
			p.Active = obs.NewHash
		}
		p.Status = st
		return p
	}
	p.Active = obs.NewHash
	if obs.TargetsUnverified {
		// The switch is made, but the load balancer does not send to the
		// new pods yet: no post-promotion analysis, no promotion.
		p.RequeueAfter = VerifyRetry
		p.Status = st
		return p
	}
	if !st.PromoteFull && !postPromotion(bg, &st, obs, &p, now) {
		if st.Abort {
			p.Active = st.StableRS // switch back
		}
		p.Status = st
		return p
	}
	st.StableRS = obs.NewHash
	st.PromoteFull, st.ControllerPause, st.PauseConditions = false, false, nil
	p.Events = append(p.Events, completed(obs))
	p.Status = st
	return p
}

func completed(obs Observed) rules.Event {
	return rules.Event{Reason: rules.ReasonCompleted, Message: fmt.Sprintf("Rollout completed update to revision %s (%s): Completed blue-green update", obs.Revision, obs.NewHash)}
}

// handleAbort keeps an aborted update aborted (the active Service on the
// stable, no runs), and turns a retry (abort cleared by the user) into a
// fresh attempt. It reports whether the update is aborted.
func handleAbort(st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) bool {
	progressing := rules.FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
	if st.Abort {
		p.Active, p.NewReplicas = st.StableRS, obs.NewReplicas
		if st.AbortedAt != nil && (progressing == nil || progressing.Reason != v1alpha1.RolloutAbortedReason) {
			// Kept so while aborted, as Argo Rollouts rebuilds it each
			// reconcile: a status written from a stale cache (a progress
			// deadline decided again) must not leave another reason, or a
			// retry would not be recognised.
			rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason,
				fmt.Sprintf("Rollout aborted update to revision %s", obs.Revision), now)
		}
		if st.AbortedAt == nil {
			at := metav1.NewTime(now)
			st.AbortedAt = &at
			st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
			msg := fmt.Sprintf("Rollout aborted update to revision %s", obs.Revision)
			rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg, now)
			p.Events = append(p.Events, rules.Event{Warning: true, Reason: rules.ReasonAborted, Message: msg})
		}
		return true
	}
	if progressing != nil && progressing.Reason == v1alpha1.RolloutAbortedReason {
		st.AbortedAt = nil
		st.BlueGreen.ScaleUpPreviewCheckPoint = false
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus = nil, nil
		const msg = "Retrying Rollout after abort"
		rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, msg, now)
	}
	return false
}

// prePromotion runs prePromotionAnalysis, reporting whether it allows the
// promotion (passed, or inconclusive and then promoted by a user).
func prePromotion(bg *v1alpha1.BlueGreenStrategy, st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) bool {
	if bg.PrePromotionAnalysis == nil {
		return true
	}
	p.Runs.Pre = true
	return judge(obs.PreRun, &st.BlueGreen.PrePromotionAnalysisRunStatus, st, obs, p, now)
}

// postPromotion runs postPromotionAnalysis after the switch.
func postPromotion(bg *v1alpha1.BlueGreenStrategy, st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) bool {
	if bg.PostPromotionAnalysis == nil {
		return true
	}
	p.Runs.Post = true
	return judge(obs.PostRun, &st.BlueGreen.PostPromotionAnalysisRunStatus, st, obs, p, now)
}

// judge records run in *ref and decides: passed → true; failed, errored or
// terminated before a successful measurement → abort; inconclusive → pause
// (InconclusiveAnalysisRun) until a user promotes.
func judge(run *rules.Run, ref **v1alpha1.RolloutAnalysisRunStatus, st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) bool {
	if run == nil {
		return false
	}
	*ref = &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: run.Phase, Message: run.Message}
	switch run.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		if run.Passed {
			return true
		}
		abort(st, obs, p, fmt.Sprintf("AnalysisRun %s was terminated before it took a successful measurement", run.Name), now)
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		cause := run.Message
		if cause == "" {
			cause = fmt.Sprintf("AnalysisRun %s ended %s", run.Name, run.Phase)
		}
		abort(st, obs, p, cause, now)
	case v1alpha1.AnalysisPhaseInconclusive:
		if rules.HasPause(st, v1alpha1.PauseReasonInconclusiveAnalysis) {
			return false
		}
		if st.ControllerPause {
			st.ControllerPause = false
			p.resumedInconclusive = true
			p.Events = append(p.Events, rules.Event{Reason: rules.ReasonResumed, Message: "Rollout is resumed"})
			return true
		}
		rules.AddPause(st, v1alpha1.PauseReasonInconclusiveAnalysis, now)
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonPaused, Message: "Rollout is paused (InconclusiveAnalysisRun)"})
	}
	return false
}

// abort aborts the update because of cause, as a user abort would, with
// the cause in the message.
func abort(st *v1alpha1.RolloutStatus, obs Observed, p *Progress, cause string, now time.Time) {
	at := metav1.NewTime(now)
	st.Abort, st.AbortedAt = true, &at
	st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
	msg := fmt.Sprintf("Rollout aborted update to revision %s: %s", obs.Revision, cause)
	rules.SetCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg, now)
	p.Events = append(p.Events, rules.Event{Warning: true, Reason: rules.ReasonAborted, Message: msg})
}

// pauseDone holds the promotion at a BlueGreenPause when
// autoPromotionEnabled is false (until a user promotes) or
// autoPromotionSeconds is set (until then, or a user promotes).
func pauseDone(bg *v1alpha1.BlueGreenStrategy, st *v1alpha1.RolloutStatus, p *Progress, now time.Time) bool {
	manual := bg.AutoPromotionEnabled != nil && !*bg.AutoPromotionEnabled
	timed := !manual && bg.AutoPromotionSeconds > 0
	if !manual && !timed {
		return true
	}
	var cond *v1alpha1.PauseCondition
	for i := range st.PauseConditions {
		if st.PauseConditions[i].Reason == v1alpha1.PauseReasonBlueGreenPause {
			cond = &st.PauseConditions[i]
		}
	}
	switch {
	case cond == nil && st.ControllerPause:
		// A user promoted (cleared the pause conditions).
		st.ControllerPause = false
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonResumed, Message: "Rollout is resumed"})
		return true
	case cond == nil:
		rules.AddPause(st, v1alpha1.PauseReasonBlueGreenPause, now)
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonPaused, Message: "Rollout is paused (BlueGreenPause)"})
		if timed {
			p.RequeueAfter = time.Duration(bg.AutoPromotionSeconds) * time.Second
		}
		return false
	case timed:
		if left := cond.StartTime.Add(time.Duration(bg.AutoPromotionSeconds) * time.Second).Sub(now); left > 0 {
			p.RequeueAfter = left
			return false
		}
		st.PauseConditions = rules.RemovePause(st.PauseConditions, v1alpha1.PauseReasonBlueGreenPause)
		st.ControllerPause = false
		p.Events = append(p.Events, rules.Event{Reason: rules.ReasonResumed, Message: "Rollout is resumed"})
		return true
	}
	return false
}
