package canary

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// withAnalysis is midUpdate's rollout with an analysis step at index 1 and,
// from step 2, a background analysis.
func withAnalysis(i int32) *v1alpha1.Rollout {
	ro := midUpdate(i)
	ro.Spec.Strategy.Canary.Steps[1] = v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{}}
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{StartingStep: new(int32(2))}
	return ro
}

func TestAnalysisStep(t *testing.T) {
	failed := &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseFailed, Message: `Metric "success-rate" assessed Failed`}
	for _, c := range []struct {
		name       string
		run        *rules.Run
		wantIdx    int32
		wantAbort  bool
		wantPause  bool
		wantRun    bool
		wantReason string
	}{
		{name: "no run yet: ask for it and wait", wantIdx: 1, wantRun: true},
		{name: "running: wait", run: &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseRunning}, wantIdx: 1, wantRun: true},
		{name: "passed: next step", run: &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseSuccessful, Passed: true}, wantIdx: 2, wantReason: rules.ReasonStepCompleted},
		{name: "terminated before measuring is not a pass", run: &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseSuccessful}, wantIdx: 0, wantAbort: true, wantReason: rules.ReasonAborted},
		{name: "failed: abort with the run's message", run: failed, wantIdx: 0, wantAbort: true, wantReason: rules.ReasonAborted},
		{name: "error: abort", run: &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseError}, wantIdx: 0, wantAbort: true, wantReason: rules.ReasonAborted},
		{name: "inconclusive: pause", run: &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseInconclusive}, wantIdx: 1, wantPause: true, wantRun: true, wantReason: rules.ReasonPaused},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := obs(true)
			o.StepRun = c.run
			p := Advance(withAnalysis(1), o, t0)
			if *p.Status.CurrentStepIndex != c.wantIdx || p.Status.Abort != c.wantAbort || p.Runs.Step != c.wantRun {
				t.Fatalf("index %d abort %v step run %v; want %d %v %v", *p.Status.CurrentStepIndex, p.Status.Abort, p.Runs.Step, c.wantIdx, c.wantAbort, c.wantRun)
			}
			if c.wantPause != rules.HasPause(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) {
				t.Fatalf("inconclusive pause %v, want %v", !c.wantPause, c.wantPause)
			}
			if c.wantReason != "" && !hasEvent(p, c.wantReason, "") {
				t.Fatalf("events %v, want %s", p.Events, c.wantReason)
			}
		})
	}
	o := obs(true)
	o.StepRun = failed
	p := Advance(withAnalysis(1), o, t0)
	c := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing)
	if want := `Rollout aborted update to revision 2: Metric "success-rate" assessed Failed`; c == nil || c.Message != want {
		t.Fatalf("abort message %+v, want %q", c, want)
	}
}

func TestInconclusiveStepContinuesAfterPromote(t *testing.T) {
	ro := withAnalysis(1)
	o := obs(true)
	o.StepRun = &rules.Run{Name: "r", Phase: v1alpha1.AnalysisPhaseInconclusive}
	p := Advance(ro, o, t0)
	ro.Status = p.Status
	// `kubectl argo rollouts promote` clears the pause conditions.
	ro.Status.PauseConditions = nil
	if p = Advance(ro, o, t0); *p.Status.CurrentStepIndex != 2 {
		t.Fatalf("promote must move past an inconclusive step; index %d", *p.Status.CurrentStepIndex)
	}
}

func TestBackgroundAnalysis(t *testing.T) {
	if p := Advance(withAnalysis(0), obs(false), t0); p.Runs.Background {
		t.Fatal("background analysis must wait for its startingStep")
	}
	p := Advance(withAnalysis(2), obs(false), t0)
	if !p.Runs.Background {
		t.Fatal("background analysis must run from its startingStep")
	}
	o := obs(false)
	o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseRunning}
	if p = Advance(withAnalysis(2), o, t0); p.Status.Canary.CurrentBackgroundAnalysisRunStatus == nil ||
		p.Status.Canary.CurrentBackgroundAnalysisRunStatus.Name != "bg" {
		t.Fatalf("status must show the background run: %+v", p.Status.Canary)
	}
	o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseFailed, Message: "too many errors"}
	p = Advance(withAnalysis(3), o, t0)
	if !p.Status.Abort || p.Runs.Background || !hasEvent(p, rules.ReasonAborted, "too many errors") {
		t.Fatalf("a failed background run aborts: %+v events %v", p.Status, p.Events)
	}
	// The first deploy and a completed update run no analysis.
	first := withAnalysis(2)
	first.Status = v1alpha1.RolloutStatus{}
	if p = Advance(first, obs(true), t0); p.Runs.Background || p.Runs.Step {
		t.Fatal("the first deploy never runs analysis")
	}
	done := withAnalysis(4)
	done.Status.StableRS = "new"
	if p = Advance(done, obs(true), t0); p.Runs.Background {
		t.Fatal("a completed update runs no analysis")
	}
	full := withAnalysis(2)
	full.Status.PromoteFull = true
	if p = Advance(full, obs(false), t0); p.Runs.Background {
		t.Fatal("promote --full ends the background analysis")
	}
}
