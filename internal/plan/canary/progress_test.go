package canary

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func weight(n int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: &n} }
func pauseFor(d *v1alpha1.RolloutPause) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Pause: d}
}

// midUpdate is a canary whose stable is "old" and whose template is "new",
// at step index i of [setWeight 20, pause (indefinite), setWeight 60, pause 30s].
func midUpdate(i int32) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		weight(20), pauseFor(&v1alpha1.RolloutPause{}), weight(60), pauseFor(&v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromString("30s")}),
	}}
	ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepHash = "old", "new", "steps"
	ro.Status.CurrentStepIndex = &i
	return ro
}

func obs(atDesired bool) Observed {
	return Observed{NewHash: "new", StepHash: "steps", AtDesiredReplicas: atDesired, Revision: "2"}
}

func hasEvent(p Progress, reason, msg string) bool {
	for _, e := range p.Events {
		if e.Reason == reason && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func TestFirstDeployGoesStraightToTheEnd(t *testing.T) {
	ro := midUpdate(0)
	ro.Status = v1alpha1.RolloutStatus{}
	p := Advance(ro, obs(false), t0)
	// Stable at once, available or not (a second revision then surges
	// against it), announced as Argo Rollouts announces it.
	if *p.Status.CurrentStepIndex != 4 || p.Status.CurrentPodHash != "new" || p.Status.StableRS != "new" ||
		!hasEvent(p, rules.ReasonCompleted, "Rollout completed update to revision 2 (new): Initial deploy") {
		t.Fatalf("first deploy: index %d, hash %q, stable %q, events %v; want 4, new, new and RolloutCompleted", *p.Status.CurrentStepIndex, p.Status.CurrentPodHash, p.Status.StableRS, p.Events)
	}
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0); len(p.Events) != 0 {
		t.Fatalf("completion is announced once; got %v", p.Events)
	}
}

func TestNewTemplateRestartsStepsAndClearsAbort(t *testing.T) {
	ro := midUpdate(3)
	ro.Status.Abort = true
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	o := obs(false)
	o.NewHash = "newer"
	p := Advance(ro, o, t0)
	if *p.Status.CurrentStepIndex != 0 || p.Status.Abort || len(p.Status.PauseConditions) != 0 || p.Status.CurrentPodHash != "newer" {
		t.Fatalf("got %+v", p.Status)
	}
}

func TestChangedStepsRestartFromZero(t *testing.T) {
	ro := midUpdate(2)
	o := obs(true)
	o.StepHash = "other-steps"
	if p := Advance(ro, o, t0); *p.Status.CurrentStepIndex != 0 || p.Status.CurrentStepHash != "other-steps" {
		t.Fatalf("got index %d hash %q", *p.Status.CurrentStepIndex, p.Status.CurrentStepHash)
	}
}

func TestReapplyingStableSkipsSteps(t *testing.T) {
	ro := midUpdate(1)
	o := obs(false)
	o.NewHash = "old"
	p := Advance(ro, o, t0)
	if *p.Status.CurrentStepIndex != 4 || !hasEvent(p, rules.ReasonSkipSteps, "Rollback to stable ReplicaSets") {
		t.Fatalf("fast rollback: index %d events %v", *p.Status.CurrentStepIndex, p.Events)
	}
}

func TestSetWeightCompletesOnlyAtDesiredReplicas(t *testing.T) {
	if p := Advance(midUpdate(0), obs(false), t0); *p.Status.CurrentStepIndex != 0 {
		t.Fatalf("advanced before the replicas were ready")
	}
	p := Advance(midUpdate(0), obs(true), t0)
	if *p.Status.CurrentStepIndex != 1 || !hasEvent(p, rules.ReasonStepCompleted, "Rollout step 1/4 completed (setWeight: 20)") {
		t.Fatalf("index %d events %v", *p.Status.CurrentStepIndex, p.Events)
	}
	// The pause that follows starts in the same pass.
	if len(p.Status.PauseConditions) != 1 || !p.Status.ControllerPause || !hasEvent(p, rules.ReasonPaused, "") {
		t.Fatalf("the next pause must start at once: %+v events %v", p.Status, p.Events)
	}
	// A setWeight after a finished pause waits for its own readiness.
	ro := midUpdate(3)
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	ro.Status.ControllerPause = true
	ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, weight(90))
	if p := Advance(ro, obs(true), t0.Add(time.Minute)); *p.Status.CurrentStepIndex != 4 {
		t.Fatalf("index %d: the setWeight after the pause must not complete in the same pass", *p.Status.CurrentStepIndex)
	}
}

func TestIndefinitePauseWaitsForPromote(t *testing.T) {
	ro := midUpdate(1)
	p := Advance(ro, obs(true), t0)
	if len(p.Status.PauseConditions) != 1 || !p.Status.ControllerPause || *p.Status.CurrentStepIndex != 1 || p.RequeueAfter != 0 {
		t.Fatalf("entering the pause: %+v requeue %s", p.Status, p.RequeueAfter)
	}
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0.Add(time.Hour)); *p.Status.CurrentStepIndex != 1 {
		t.Fatal("an indefinite pause must not end by itself")
	}
	// `kubectl argo rollouts promote` sends {"status":{"pauseConditions":null}}.
	ro.Status.PauseConditions = nil
	p = Advance(ro, obs(true), t0.Add(time.Hour))
	if *p.Status.CurrentStepIndex != 2 || p.Status.ControllerPause || !hasEvent(p, rules.ReasonResumed, "") {
		t.Fatalf("after promote: %+v", p.Status)
	}
}

func TestTimedPauseRequeuesAtExpiry(t *testing.T) {
	ro := midUpdate(3)
	p := Advance(ro, obs(true), t0)
	if p.RequeueAfter != 30*time.Second {
		t.Fatalf("requeue %s, want 30s", p.RequeueAfter)
	}
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0.Add(10*time.Second)); p.RequeueAfter != 20*time.Second || *p.Status.CurrentStepIndex != 3 {
		t.Fatalf("mid-pause: requeue %s index %d", p.RequeueAfter, *p.Status.CurrentStepIndex)
	}
	p = Advance(ro, obs(true), t0.Add(30*time.Second))
	if *p.Status.CurrentStepIndex != 4 || len(p.Status.PauseConditions) != 0 || p.Status.StableRS != "old" || hasEvent(p, rules.ReasonCompleted, "") {
		t.Fatalf("after expiry the last step is done but the canary is not at 100%% yet: %+v", p.Status)
	}
	// Readiness measured at the end (100% canary) completes the update.
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0.Add(31*time.Second)); p.Status.StableRS != "new" || !hasEvent(p, rules.ReasonCompleted, "revision 2") {
		t.Fatalf("at 100%%: %+v", p.Status)
	}
}

func TestPromoteFullSkipsRemainingSteps(t *testing.T) {
	ro := midUpdate(1)
	ro.Status.PromoteFull = true
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	p := Advance(ro, obs(false), t0)
	if *p.Status.CurrentStepIndex != 4 || len(p.Status.PauseConditions) != 0 || p.Status.StableRS != "old" {
		t.Fatalf("promote full before replicas are ready: %+v", p.Status)
	}
	// Ready for the step it was at is not ready for 100%.
	ro2 := midUpdate(1)
	ro2.Status.PromoteFull = true
	if p := Advance(ro2, obs(true), t0); p.Status.StableRS != "old" {
		t.Fatalf("promote full must scale the canary up before it becomes stable: %+v", p.Status)
	}
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0); p.Status.StableRS != "new" || p.Status.PromoteFull {
		t.Fatalf("promote full once ready: %+v", p.Status)
	}
}

func TestManualPauseAndAbortHoldSteps(t *testing.T) {
	ro := midUpdate(0)
	ro.Spec.Paused = true
	if p := Advance(ro, obs(true), t0); *p.Status.CurrentStepIndex != 0 {
		t.Fatal("spec.paused must hold the steps")
	}
	ro = midUpdate(0)
	ro.Status.Abort = true
	if p := Advance(ro, obs(true), t0); *p.Status.CurrentStepIndex != 0 {
		t.Fatal("an aborted rollout must not advance")
	}
}

func TestAbortGoesBackToStableAndRetryStartsOver(t *testing.T) {
	ro := midUpdate(2)
	ro.Status.Abort = true
	p := Advance(ro, obs(true), t0)
	c := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing)
	if p.Status.AbortedAt == nil || *p.Status.CurrentStepIndex != 0 || c == nil || c.Reason != v1alpha1.RolloutAbortedReason ||
		c.Message != "Rollout aborted update to revision 2" || !hasEvent(p, rules.ReasonAborted, "revision 2") {
		t.Fatalf("abort: %+v events %v", p.Status, p.Events)
	}
	ro.Status = p.Status
	if p = Advance(ro, obs(true), t0.Add(time.Minute)); len(p.Events) != 0 || *p.Status.CurrentStepIndex != 0 {
		t.Fatalf("an abort is acted on once: events %v", p.Events)
	}
	// `kubectl argo rollouts retry rollout` sends {"status":{"abort":false}}.
	ro.Status.Abort = false
	p = Advance(ro, obs(false), t0.Add(2*time.Minute))
	c = rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing)
	if p.Status.AbortedAt != nil || c.Reason != v1alpha1.RolloutRetryReason || len(p.Events) != 0 || *p.Status.CurrentStepIndex != 0 {
		t.Fatalf("retry: %+v events %v", p.Status, p.Events)
	}
}

func TestNewTemplateAfterAbortLeavesDegraded(t *testing.T) {
	ro := midUpdate(2)
	ro.Status.Abort = true
	p := Advance(ro, obs(true), t0)
	ro.Status = p.Status
	o := obs(false)
	o.NewHash, o.Revision = "newer", "3"
	p = Advance(ro, o, t0)
	c := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing)
	if p.Status.Abort || c.Reason == v1alpha1.RolloutAbortedReason {
		t.Fatalf("a new revision must clear the abort: %+v", p.Status)
	}
}

func TestRouteStepsCompleteAtOnce(t *testing.T) {
	ro := midUpdate(1)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		weight(20),
		{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h"}},
		{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}},
		pauseFor(&v1alpha1.RolloutPause{}),
	}
	// The routes themselves are applied by the traffic reconcile from
	// every step up to the new index; the steps do not wait for anything.
	p := Advance(ro, obs(true), t0)
	if *p.Status.CurrentStepIndex != 3 || !p.Status.ControllerPause {
		t.Fatalf("index %d, paused %v: header and mirror steps must complete in the same pass", *p.Status.CurrentStepIndex, p.Status.ControllerPause)
	}
}

func TestPromoteFullLiftsAnAbort(t *testing.T) {
	ro := midUpdate(0)
	p := Advance(ro, obs(true), t0)
	ro.Status = p.Status
	ro.Status.Abort = true
	p = Advance(ro, obs(true), t0)
	ro.Status = p.Status
	if !p.Status.Abort || p.Status.AbortedAt == nil {
		t.Fatalf("aborted: %+v", p.Status)
	}
	ro.Status.PromoteFull = true // promote --full
	p = Advance(ro, obs(true), t0.Add(time.Second))
	if p.Status.Abort || p.Status.AbortedAt != nil || *p.Status.CurrentStepIndex != 4 {
		t.Fatalf("promote --full must lift the abort and go to the end: %+v", p.Status)
	}
}

// Argo CD's "skip current step" on a timed pause sends
// {"status":{"currentStepIndex":i+1,"pauseConditions":null}}, leaving the
// controller's pause flag set. The flag must not count as a resume of any
// later pause: the manual gate after it still holds.
func TestSkippedPauseDoesNotResumeTheNextGate(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		weight(20), pauseFor(&v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromString("1h")}), weight(40), pauseFor(&v1alpha1.RolloutPause{}), weight(60),
	}}
	ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepHash = "old", "new", "steps"
	ro.Status.CurrentStepIndex = new(int32(2)) // after the skip patch
	ro.Status.ControllerPause = true           // left by the controller's 1h pause

	cases := []struct {
		name      string
		atDesired bool
	}{
		{"weight not reached yet", false},
		{"weight already reached in the same pass", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Advance(ro, obs(c.atDesired), t0)
			if p.Status.ControllerPause && len(p.Status.PauseConditions) == 0 {
				t.Fatalf("controllerPause kept without a pause condition: %+v", p.Status)
			}
			next := ro.DeepCopy()
			next.Status = p.Status
			p = Advance(next, obs(true), t0.Add(time.Second))
			if !c.atDesired {
				next.Status = p.Status
				p = Advance(next, obs(true), t0.Add(2*time.Second))
			}
			if *p.Status.CurrentStepIndex != 3 || !rules.HasPause(&p.Status, v1alpha1.PauseReasonCanaryPauseStep) || !p.Status.ControllerPause {
				t.Fatalf("want held at the manual gate (index 3, CanaryPauseStep, controllerPause); got index %d, pauses %v, controllerPause %v, events %v",
					*p.Status.CurrentStepIndex, p.Status.PauseConditions, p.Status.ControllerPause, p.Events)
			}
		})
	}
}

// A skip past the last pause leaves a finished rollout without the flag, so
// clients do not report "waiting for rollout to unpause".
func TestSkipToTheEndClearsControllerPause(t *testing.T) {
	ro := midUpdate(4)
	ro.Status.ControllerPause = true
	p := Advance(ro, obs(true), t0)
	if p.Status.ControllerPause || p.Status.StableRS != "new" {
		t.Fatalf("want completed without controllerPause; got stable %q controllerPause %v", p.Status.StableRS, p.Status.ControllerPause)
	}
}

// A user's resume (conditions cleared, flag still set) at the pause step the
// controller holds completes that step, and only that one.
func TestResumeAtThePauseCompletesOnlyThatStep(t *testing.T) {
	ro := midUpdate(1)
	ro.Status.ControllerPause = true
	p := Advance(ro, obs(true), t0)
	if *p.Status.CurrentStepIndex != 2 || p.Status.ControllerPause || !hasEvent(p, rules.ReasonResumed, "resumed") {
		t.Fatalf("want step 2 with the flag cleared and RolloutResumed; got index %d flag %v events %v", *p.Status.CurrentStepIndex, p.Status.ControllerPause, p.Events)
	}
	// Under spec.paused nothing moves and the pending resume is kept.
	ro.Spec.Paused = true
	if p := Advance(ro, obs(true), t0); !p.Status.ControllerPause || *p.Status.CurrentStepIndex != 1 {
		t.Fatalf("spec.paused: want the resume kept at step 1; got index %d flag %v", *p.Status.CurrentStepIndex, p.Status.ControllerPause)
	}
}

// A timed pause expiring records its step's completion before the resume,
// the order Argo Rollouts records.
func TestStepCompletedComesBeforeResumed(t *testing.T) {
	ro := midUpdate(3)
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	ro.Status.ControllerPause = true
	p := Advance(ro, obs(true), t0.Add(31*time.Second))
	var reasons []string
	for _, e := range p.Events {
		reasons = append(reasons, e.Reason)
	}
	if len(reasons) < 2 || reasons[0] != rules.ReasonStepCompleted || reasons[1] != rules.ReasonResumed {
		t.Fatalf("events %v; want RolloutStepCompleted then RolloutResumed first", reasons)
	}
}

// Background analysis starting at the pause the steps reach in this pass
// is asked for in the same pass: no status says "paused at step 1" while
// the run due from step 1 does not exist.
func TestBackgroundRunAskedForAtTheStepReached(t *testing.T) {
	ro := midUpdate(0)
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{StartingStep: new(int32(1))}
	p := Advance(ro, obs(true), t0)
	if *p.Status.CurrentStepIndex != 1 || !rules.HasPause(&p.Status, v1alpha1.PauseReasonCanaryPauseStep) || !p.Runs.Background {
		t.Fatalf("want paused at step 1 with the background run asked for; index %d, pauses %v, runs %+v", *p.Status.CurrentStepIndex, p.Status.PauseConditions, p.Runs)
	}
	// Completing the update in a pass stops asking for it.
	ro = midUpdate(4)
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{}
	if p := Advance(ro, obs(true), t0); p.Status.StableRS != "new" || p.Runs.Background {
		t.Fatalf("completed: stable %q, runs %+v; want no background run", p.Status.StableRS, p.Runs)
	}
}

// While aborted, Progressing stays False/RolloutAborted: a status written
// from a stale cache with another reason is corrected, so a retry is still
// recognised.
func TestAbortedProgressingIsKept(t *testing.T) {
	ro := midUpdate(0)
	at := metav1.NewTime(t0)
	ro.Status.Abort, ro.Status.AbortedAt = true, &at
	rules.SetCondition(&ro.Status, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, "timed out", t0)
	p := Advance(ro, obs(false), t0.Add(time.Minute))
	if c := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing); c == nil || c.Reason != v1alpha1.RolloutAbortedReason {
		t.Fatalf("Progressing %+v, want RolloutAborted", c)
	}
	ro.Status = p.Status
	ro.Status.Abort = false // retry
	if p = Advance(ro, obs(false), t0.Add(2*time.Minute)); rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing).Reason != v1alpha1.RolloutRetryReason {
		t.Fatalf("retry not recognised: %+v", p.Status.Conditions)
	}
}

// An inconclusive analysis step records the step it holds, like a pause
// step, so a skip from it onto a pause: {} is not taken for a resume there.
func TestInconclusivePauseRecordsItsStep(t *testing.T) {
	ro := midUpdate(0)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{Analysis: &v1alpha1.RolloutAnalysis{}}, {Pause: &v1alpha1.RolloutPause{}}}
	o := obs(false)
	o.StepRun = &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseInconclusive}
	p := Advance(ro, o, t0)
	if !rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) || p.Status.ControllerPauseStep != PausedAtValue("new", 0) {
		t.Fatalf("inconclusive: pauses %v controllerPauseStep %q", p.Status.PauseConditions, p.Status.ControllerPauseStep)
	}
	// Argo CD's skip onto the pause: {} step.
	ro.Status = p.Status
	ro.Status.CurrentStepIndex, ro.Status.PauseConditions = new(int32(1)), nil
	o.StepRun, o.PausedAt = nil, p.Status.ControllerPauseStep
	p = Advance(ro, o, t0)
	if *p.Status.CurrentStepIndex != 1 || !rules.HasPause(&p.Status, v1alpha1.PauseReasonCanaryPauseStep) {
		t.Fatalf("after the skip: step %d pauses %v, want held at the gate", *p.Status.CurrentStepIndex, p.Status.PauseConditions)
	}
}

// A background run's inconclusive pause holds the steps like any other
// pause until a user promotes: the rollout does not run on past its next
// pause: {} while it reports itself paused.
func TestBackgroundInconclusiveHoldsTheSteps(t *testing.T) {
	ro := midUpdate(0)
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "bg"}}}}
	o := obs(true)
	o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseInconclusive}
	p := Advance(ro, o, t0)
	if !rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) {
		t.Fatalf("inconclusive background run: pauses %v", p.Status.PauseConditions)
	}
	for range 3 {
		ro.Status = p.Status
		if p = Advance(ro, o, t0); *p.Status.CurrentStepIndex != 0 {
			t.Fatalf("the steps ran on to %d under the inconclusive pause", *p.Status.CurrentStepIndex)
		}
	}
	// A promote clears it: the setWeight step completes and the gate after
	// it pauses.
	ro.Status = p.Status
	ro.Status.PauseConditions = nil
	p = Advance(ro, o, t0)
	if *p.Status.CurrentStepIndex != 1 || !rules.HasPause(&p.Status, v1alpha1.PauseReasonCanaryPauseStep) {
		t.Fatalf("after the promote: step %d pauses %v, want held at the gate", *p.Status.CurrentStepIndex, p.Status.PauseConditions)
	}
}
