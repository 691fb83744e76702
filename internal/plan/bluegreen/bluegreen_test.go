package bluegreen

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// updating is a blue-green Rollout of 3 replicas whose stable is "old" and
// whose template is "new", as it is once the update has been noticed.
func updating(mutate func(*v1alpha1.BlueGreenStrategy)) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Replicas = new(int32(3))
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview"}
	if mutate != nil {
		mutate(ro.Spec.Strategy.BlueGreen)
	}
	ro.Status.StableRS, ro.Status.CurrentPodHash = "old", "new"
	return ro
}

func seen(new, available int32, active string) Observed {
	return Observed{NewHash: "new", Revision: "2", NewReplicas: new, NewAvailable: available, ActiveSelector: active}
}

func passed(name string) *rules.Run {
	return &rules.Run{Name: name, Phase: v1alpha1.AnalysisPhaseSuccessful, Passed: true}
}

func failed(name string) *rules.Run {
	return &rules.Run{Name: name, Phase: v1alpha1.AnalysisPhaseFailed, Message: `Metric "smoke" assessed Failed`}
}

func hasEvent(p Progress, reason string) bool {
	for _, e := range p.Events {
		if e.Reason == reason {
			return true
		}
	}
	return false
}

// step applies a decision's status, as the status write would.
func step(ro *v1alpha1.Rollout, obs Observed, now time.Time) Progress {
	p := Advance(ro, obs, now)
	ro.Status = p.Status
	return p
}

func TestFirstDeployServesAtOnce(t *testing.T) {
	ro := updating(nil)
	ro.Status = v1alpha1.RolloutStatus{}
	p := step(ro, seen(0, 0, ""), t0)
	// The first revision is the stable one at once, available or not.
	if p.NewReplicas != 3 || p.Active != "new" || p.Preview != "new" || p.Status.StableRS != "new" || !hasEvent(p, rules.ReasonCompleted) {
		t.Fatalf("first pass: %+v", p)
	}
	if p = step(ro, seen(3, 3, "new"), t0); len(p.Events) != 0 || p.Status.StableRS != "new" {
		t.Fatalf("completion is announced once: %+v", p)
	}
}

func TestAutoPromotionPath(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) {
		bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{}
		bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}
	})
	p := step(ro, seen(0, 0, "old"), t0)
	if p.NewReplicas != 3 || p.Active != "old" || p.Preview != "new" || p.Runs != (Runs{}) {
		t.Fatalf("preview coming up: %+v", p)
	}
	p = step(ro, seen(3, 3, "old"), t0)
	if !p.Runs.Pre || p.Active != "old" {
		t.Fatalf("preview up: the pre-promotion run must start: %+v", p)
	}
	obs := seen(3, 3, "old")
	obs.PreRun = passed("r-pre")
	p = step(ro, obs, t0)
	if p.Active != "new" || !p.Status.BlueGreen.ScaleUpPreviewCheckPoint || p.Status.BlueGreen.PrePromotionAnalysisRunStatus.Status != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("pre passed: switch: %+v", p)
	}
	obs = seen(3, 3, "new")
	obs.PreRun = passed("r-pre")
	p = step(ro, obs, t0)
	if !p.Runs.Post || p.Runs.Pre || p.Active != "new" || p.Status.StableRS != "old" {
		t.Fatalf("switched: post-promotion runs before the stable moves: %+v", p)
	}
	obs.PostRun = passed("r-post")
	p = step(ro, obs, t0)
	if p.Status.StableRS != "new" || !hasEvent(p, rules.ReasonCompleted) {
		t.Fatalf("post passed: new is stable: %+v", p)
	}
}

func TestPrePromotionFailureAbortsWithoutSwitching(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{} })
	obs := seen(3, 3, "old")
	obs.PreRun = failed("r-pre")
	p := step(ro, obs, t0)
	if !p.Status.Abort || p.Active != "old" || !hasEvent(p, rules.ReasonAborted) {
		t.Fatalf("failed pre-promotion: abort, active stays: %+v", p)
	}
	if c := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing); c == nil || !strings.Contains(c.Message, `Metric "smoke" assessed Failed`) {
		t.Fatalf("the abort names the run's message: %+v", c)
	}
	p = step(ro, obs, t0.Add(time.Second))
	if p.Active != "old" || p.Runs != (Runs{}) || p.NewReplicas != 3 {
		t.Fatalf("aborted: active on stable, no runs, preview left to the abort delay: %+v", p)
	}
}

func TestPostPromotionFailureSwitchesBack(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{} })
	ro.Status.BlueGreen.ScaleUpPreviewCheckPoint = true
	obs := seen(3, 3, "new")
	obs.PostRun = failed("r-post")
	p := step(ro, obs, t0)
	if !p.Status.Abort || p.Active != "old" || p.Status.StableRS != "old" {
		t.Fatalf("failed post-promotion: abort and switch back: %+v", p)
	}
}

func TestManualPromotion(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.AutoPromotionEnabled = new(false) })
	p := step(ro, seen(3, 3, "old"), t0)
	if len(p.Status.PauseConditions) != 1 || p.Status.PauseConditions[0].Reason != v1alpha1.PauseReasonBlueGreenPause || p.Active != "old" {
		t.Fatalf("paused: %+v", p)
	}
	if p = step(ro, seen(3, 3, "old"), t0.Add(time.Hour)); p.Active != "old" {
		t.Fatal("the pause must hold until promoted")
	}
	ro.Status.PauseConditions = nil // promote
	p = step(ro, seen(3, 3, "old"), t0.Add(time.Hour))
	if p.Active != "new" || p.Status.ControllerPause || !hasEvent(p, rules.ReasonResumed) {
		t.Fatalf("promoted: %+v", p)
	}
	// The pause is not taken again on the next pass.
	if p = step(ro, seen(3, 3, "old"), t0.Add(time.Hour)); len(p.Status.PauseConditions) != 0 || p.Active != "new" {
		t.Fatalf("after the promote: %+v", p)
	}
}

func TestAutoPromotionSeconds(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.AutoPromotionSeconds = 5 })
	p := step(ro, seen(3, 3, "old"), t0)
	if len(p.Status.PauseConditions) != 1 || p.RequeueAfter != 5*time.Second {
		t.Fatalf("paused for 5s: %+v", p)
	}
	if p = step(ro, seen(3, 3, "old"), t0.Add(2*time.Second)); p.Active != "old" || p.RequeueAfter != 3*time.Second {
		t.Fatalf("still paused: %+v", p)
	}
	if p = step(ro, seen(3, 3, "old"), t0.Add(5*time.Second)); p.Active != "new" || len(p.Status.PauseConditions) != 0 {
		t.Fatalf("resumed by itself: %+v", p)
	}
}

func TestPreviewReplicaCount(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PreviewReplicaCount = new(int32(1)) })
	p := step(ro, seen(0, 0, "old"), t0)
	if p.NewReplicas != 1 {
		t.Fatalf("preview at previewReplicaCount: %+v", p)
	}
	p = step(ro, seen(1, 1, "old"), t0)
	if p.NewReplicas != 3 || p.Active != "old" || !p.Status.BlueGreen.ScaleUpPreviewCheckPoint {
		t.Fatalf("promotion: scale to full before the switch: %+v", p)
	}
	if p = step(ro, seen(3, 2, "old"), t0); p.Active != "old" {
		t.Fatalf("not every pod available: no switch yet: %+v", p)
	}
	if p = step(ro, seen(3, 3, "old"), t0); p.Active != "new" || p.NewReplicas != 3 {
		t.Fatalf("full: switch: %+v", p)
	}
}

func TestRetryStartsOver(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{} })
	obs := seen(3, 3, "old")
	obs.PreRun = failed("r-pre")
	step(ro, obs, t0)
	ro.Status.Abort = false // retry
	p := step(ro, seen(3, 3, "old"), t0.Add(time.Minute))
	if p.Status.AbortedAt != nil || p.Status.BlueGreen.PrePromotionAnalysisRunStatus != nil || !p.Runs.Pre || len(p.Events) != 0 {
		t.Fatalf("retry: a fresh pre-promotion run, no event (the condition records it): %+v", p)
	}
}

func TestFastRollbackAndPromoteFullSkipAnalysisAndPause(t *testing.T) {
	for _, name := range []string{"fast rollback", "promote full"} {
		t.Run(name, func(t *testing.T) {
			ro := updating(func(bg *v1alpha1.BlueGreenStrategy) {
				bg.PrePromotionAnalysis, bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}, &v1alpha1.RolloutAnalysis{}
				bg.AutoPromotionEnabled = new(false)
			})
			obs := seen(3, 3, "old")
			if name == "fast rollback" {
				ro.Status.CurrentPodHash = "older"
				obs.FastRollback = true
			} else {
				ro.Status.PromoteFull = true
			}
			p := step(ro, obs, t0)
			if p.Active != "new" || p.Runs != (Runs{}) || len(p.Status.PauseConditions) != 0 {
				t.Fatalf("switch at once: %+v", p)
			}
			p = step(ro, seen(3, 3, "new"), t0)
			if p.Status.StableRS != "new" || p.Runs != (Runs{}) {
				t.Fatalf("stable at once: %+v", p)
			}
		})
	}
}

func TestUserPauseHolds(t *testing.T) {
	ro := updating(nil)
	ro.Spec.Paused = true
	if p := step(ro, seen(3, 3, "old"), t0); p.Active != "old" || p.NewReplicas != 3 {
		t.Fatalf("spec.paused holds before the switch: %+v", p)
	}
}

func TestPromoteFullLiftsAnAbort(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{} })
	obs := seen(3, 3, "old")
	obs.PreRun = failed("r-pre")
	step(ro, obs, t0)
	ro.Status.PromoteFull = true // promote --full
	p := step(ro, seen(3, 3, "old"), t0.Add(time.Second))
	if p.Status.Abort || p.Active != "new" || p.Runs != (Runs{}) {
		t.Fatalf("promote --full must lift the abort and switch: %+v", p)
	}
}

// One promote past an inconclusive pre-promotion run promotes a rollout
// with autoPromotionEnabled false: the BlueGreenPause is not asked for on
// top, the run is not judged again, and the resume is recorded once. (The
// model fuzzer found the loop this replaced: bluegreen-inconclusive-
// promote-cycles.)
func TestPromotePastInconclusivePrePromotion(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) {
		bg.AutoPromotionEnabled = new(false)
		bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "smoke"}}}
	})
	obs := seen(3, 3, "old")
	obs.PreRun = &rules.Run{Name: "r-pre", Phase: v1alpha1.AnalysisPhaseInconclusive}
	p := step(ro, obs, t0)
	if !rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) || !p.Status.ControllerPause {
		t.Fatalf("an inconclusive run pauses: %+v", p.Status)
	}
	ro.Status.PauseConditions = nil // promote
	resumes := 0
	for i := range 4 {
		p = step(ro, obs, t0.Add(time.Duration(i)*time.Minute))
		for _, e := range p.Events {
			if e.Reason == rules.ReasonResumed {
				resumes++
			}
		}
		if len(p.Status.PauseConditions) != 0 {
			t.Fatalf("pass %d after the promote: paused again %v", i, p.Status.PauseConditions)
		}
	}
	if resumes != 1 || p.Active != "new" || !p.Status.BlueGreen.ScaleUpPreviewCheckPoint {
		t.Fatalf("resumed %d times, active %q, checkpoint %v: want one resume and the promotion", resumes, p.Active, p.Status.BlueGreen.ScaleUpPreviewCheckPoint)
	}
}

// TestSwitchWaitsForRegisteredTargets: after the active switch, neither
// the post-promotion run nor the promotion happen until the load
// balancer has registered the new pods (when that is checked).
func TestSwitchWaitsForRegisteredTargets(t *testing.T) {
	ro := updating(func(bg *v1alpha1.BlueGreenStrategy) { bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{} })
	ro.Status.BlueGreen.ScaleUpPreviewCheckPoint = true
	obs := seen(3, 3, "new")
	obs.TargetsUnverified = true
	p := step(ro, obs, t0)
	if p.Runs.Post || p.Status.StableRS != "old" || p.Active != "new" || p.RequeueAfter != VerifyRetry {
		t.Fatalf("unregistered: %+v", p)
	}
	obs.TargetsUnverified = false
	if p = step(ro, obs, t0); !p.Runs.Post {
		t.Fatalf("registered: the post-promotion run starts: %+v", p)
	}
	// Without post-promotion analysis, the promotion itself waits.
	ro = updating(nil)
	ro.Status.BlueGreen.ScaleUpPreviewCheckPoint = true
	obs.TargetsUnverified = true
	if p = step(ro, obs, t0); p.Status.StableRS != "old" {
		t.Fatalf("unregistered: promoted anyway: %+v", p)
	}
	obs.TargetsUnverified = false
	if p = step(ro, obs, t0); p.Status.StableRS != "new" {
		t.Fatalf("registered: not promoted: %+v", p)
	}
}
