package canary

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/evidence"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// shortPauses is a canary with a background analysis from the start and
// steps [setWeight 20, pause 1s], at its pause: the weight was reached at
// t0 and the pause began then.
func shortPauses() *v1alpha1.Rollout {
	ro := midUpdate(1)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{weight(20), pauseFor(&v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromString("1s")})}
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{}
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	ro.Status.ControllerPause = true
	ro.Status.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{WeightSince: &metav1.Time{Time: t0}}
	return ro
}

// running is a background run in progress whose metric "rate" succeeded
// at each of starts (after t0).
func running(starts ...time.Duration) ([]evidence.Metric, *rules.Run) {
	m := evidence.Metric{Name: "rate"}
	for _, s := range starts {
		m.Successes = append(m.Successes, t0.Add(s))
	}
	m.Retained, m.Taken = len(starts), len(starts)
	return []evidence.Metric{m}, &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseRunning}
}

func TestPromotionWaitsForEvidence(t *testing.T) {
	later := t0.Add(2 * time.Second) // the 1 s pause is over
	for _, c := range []struct {
		name      string
		change    func(*v1alpha1.Rollout, *Observed)
		wantIdx   int32
		wantWait  string // part of status.canary.promotionEvidence.waiting; "" for none
		wantEvent string // the event told, if any
	}{
		{name: "no measurement yet: the final step waits", wantIdx: 1,
			wantWait: `background metric "rate" has 0 of 1 successful measurements since the canary reached its current weight at 2026-01-01T12:00:00Z`, wantEvent: rules.ReasonAwaitingEvidence},
		{name: "only a success in the weight's own second: waits",
			change:  func(_ *v1alpha1.Rollout, o *Observed) { o.Evidence, o.BackgroundRun = running(500 * time.Millisecond) },
			wantIdx: 1, wantWait: `"rate" has 0 of 1`, wantEvent: rules.ReasonAwaitingEvidence},
		{name: "a success at the weight: promoted",
			change:  func(_ *v1alpha1.Rollout, o *Observed) { o.Evidence, o.BackgroundRun = running(1500 * time.Millisecond) },
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "the background run not created yet: waits", change: func(_ *v1alpha1.Rollout, o *Observed) { o.Evidence, o.BackgroundRun = nil, nil },
			wantIdx: 1, wantWait: MsgNoBackgroundRun, wantEvent: rules.ReasonAwaitingEvidence},
		{name: "two asked for by the annotation, one taken: waits",
			change: func(ro *v1alpha1.Rollout, o *Observed) {
				ro.Annotations = map[string]string{evidence.Annotation: "2"}
				o.Evidence, o.BackgroundRun = running(1500 * time.Millisecond)
			},
			wantIdx: 1, wantWait: `"rate" has 1 of 2`, wantEvent: rules.ReasonAwaitingEvidence},
		{name: "opted out with 0: promoted as Argo Rollouts would",
			change:  func(ro *v1alpha1.Rollout, _ *Observed) { ro.Annotations = map[string]string{evidence.Annotation: "0"} },
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "no background analysis: promoted",
			change:  func(ro *v1alpha1.Rollout, _ *Observed) { ro.Spec.Strategy.Canary.Analysis = nil },
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "a background analysis that starts only after the last step: promoted",
			change:  func(ro *v1alpha1.Rollout, _ *Observed) { ro.Spec.Strategy.Canary.Analysis.StartingStep = new(int32(2)) },
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "the background run completed successfully: its verdict stands",
			change: func(_ *v1alpha1.Rollout, o *Observed) {
				o.Evidence = []evidence.Metric{{Name: "rate", Done: true, Successes: []time.Time{t0.Add(-time.Minute)}, Retained: 1, Taken: 1}}
				o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseSuccessful, Passed: true}
			},
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "an inconclusive background run a person promoted past: no more evidence comes, none is waited for",
			change: func(ro *v1alpha1.Rollout, o *Observed) {
				// At a last setWeight step, the run's pause just cleared by
				// promote (controllerPause left set, no condition).
				ro.Spec.Strategy.Canary.Steps[1] = weight(40)
				ro.Status.PauseConditions, ro.Status.ControllerPause = nil, true
				o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseInconclusive}
			},
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
		{name: "a failing background run aborts, wait or not",
			change: func(_ *v1alpha1.Rollout, o *Observed) {
				o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseFailed, Message: "too many failures"}
			},
			wantIdx: 0, wantEvent: rules.ReasonAborted},
		{name: "not recorded when the weight was reached: any success of the run counts",
			change: func(ro *v1alpha1.Rollout, o *Observed) {
				ro.Status.Canary.PromotionEvidence = nil
				o.Evidence, o.BackgroundRun = running(-time.Minute)
			},
			wantIdx: 2, wantEvent: rules.ReasonStepCompleted},
	} {
		t.Run(c.name, func(t *testing.T) {
			ro := shortPauses()
			o := obs(true)
			o.BackgroundRun = &rules.Run{Name: "bg", Phase: v1alpha1.AnalysisPhaseRunning}
			o.Evidence = []evidence.Metric{{Name: "rate"}}
			if c.change != nil {
				c.change(ro, &o)
			}
			p := Advance(ro, o, later)
			pe := p.Status.Canary.PromotionEvidence
			waiting := ""
			if pe != nil {
				waiting = pe.Waiting
			}
			if *p.Status.CurrentStepIndex != c.wantIdx || (waiting == "") != (c.wantWait == "") || !strings.Contains(waiting, c.wantWait) {
				t.Fatalf("index %d, waiting %q; want %d, %q", *p.Status.CurrentStepIndex, waiting, c.wantIdx, c.wantWait)
			}
			if !hasEvent(p, c.wantEvent, "") {
				t.Fatalf("events %v, want %s", p.Events, c.wantEvent)
			}
			if c.wantWait == "" {
				return
			}
			// Waiting is no pause: the pause step ended (and said so), the
			// rollout is not paused, and the deadline does not run.
			if len(p.Status.PauseConditions) != 0 || p.Status.ControllerPause || !hasEvent(p, rules.ReasonResumed, "") {
				t.Fatalf("the pause must end while the promotion waits: %+v, events %v", p.Status, p.Events)
			}
			if !rules.AwaitingEvidence(&p.Status) || !p.Runs.Background {
				t.Fatal("the background run must keep running while the promotion waits for it")
			}
		})
	}
}

func TestWaitForEvidenceIsToldOnceAndEndsWithIt(t *testing.T) {
	ro := shortPauses()
	o := obs(true)
	o.Evidence, o.BackgroundRun = running()
	p := Advance(ro, o, t0.Add(2*time.Second))
	if !hasEvent(p, rules.ReasonAwaitingEvidence, `"rate" has 0 of 1`) {
		t.Fatalf("the wait begins with an event: %v", p.Events)
	}
	ro.Status = p.Status
	// Later passes without evidence: the last step is not taken again (no
	// second pause), nothing is told twice.
	for _, after := range []time.Duration{3 * time.Second, 30 * time.Second} {
		p = Advance(ro, o, t0.Add(after))
		if *p.Status.CurrentStepIndex != 1 || len(p.Events) != 0 || len(p.Status.PauseConditions) != 0 || !rules.AwaitingEvidence(&p.Status) {
			t.Fatalf("at +%s: index %d, events %v, pauses %v, evidence %+v", after, *p.Status.CurrentStepIndex, p.Events, p.Status.PauseConditions, p.Status.Canary.PromotionEvidence)
		}
		ro.Status = p.Status
	}
	// The first success at the weight: the final step, told as usual.
	o.Evidence, o.BackgroundRun = running(31 * time.Second)
	p = Advance(ro, o, t0.Add(32*time.Second))
	if *p.Status.CurrentStepIndex != 2 || rules.AwaitingEvidence(&p.Status) || !hasEvent(p, rules.ReasonStepCompleted, "Rollout step 2/2 completed") {
		t.Fatalf("index %d, evidence %+v, events %v", *p.Status.CurrentStepIndex, p.Status.Canary.PromotionEvidence, p.Events)
	}
}

func TestPromoteMovesPastTheWait(t *testing.T) {
	ro := shortPauses()
	o := obs(true)
	o.Evidence, o.BackgroundRun = running()
	ro.Status = Advance(ro, o, t0.Add(2*time.Second)).Status
	// `kubectl argo rollouts promote` on an unpaused canary moves
	// currentStepIndex on: a person's decision, which the rule respects.
	ro.Status.CurrentStepIndex = new(int32(2))
	p := Advance(ro, o, t0.Add(3*time.Second))
	if *p.Status.CurrentStepIndex != 2 || rules.AwaitingEvidence(&p.Status) {
		t.Fatalf("index %d, evidence %+v", *p.Status.CurrentStepIndex, p.Status.Canary.PromotionEvidence)
	}
}

func TestWeightClock(t *testing.T) {
	// An update begins: the clock starts with it.
	ro := shortPauses()
	ro.Status.CurrentPodHash = "older"
	p := Advance(ro, obs(false), t0.Add(5*time.Second))
	if pe := p.Status.Canary.PromotionEvidence; pe == nil || pe.WeightSince == nil || !pe.WeightSince.Time.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("a new update starts the clock: %+v", pe)
	}
	// A setWeight step completes: the clock restarts.
	ro = shortPauses()
	ro.Status.CurrentStepIndex = new(int32(0))
	ro.Status.PauseConditions, ro.Status.ControllerPause = nil, false
	p = Advance(ro, obs(true), t0.Add(7*time.Second))
	if pe := p.Status.Canary.PromotionEvidence; *p.Status.CurrentStepIndex != 1 || pe == nil || !pe.WeightSince.Time.Equal(t0.Add(7*time.Second)) {
		t.Fatalf("setWeight done: index %d, %+v", *p.Status.CurrentStepIndex, pe)
	}
	// A last step that sets the weight waits for a measurement taken at it.
	ro = shortPauses()
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{pauseFor(&v1alpha1.RolloutPause{}), weight(60)}
	ro.Status.PauseConditions, ro.Status.ControllerPause = nil, false
	o := obs(true)
	o.Evidence, o.BackgroundRun = running(time.Second, 2*time.Second)
	p = Advance(ro, o, t0.Add(3*time.Second))
	if *p.Status.CurrentStepIndex != 1 || !rules.AwaitingEvidence(&p.Status) || !p.Status.Canary.PromotionEvidence.WeightSince.Time.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("setWeight 60 as the last step: index %d, %+v", *p.Status.CurrentStepIndex, p.Status.Canary.PromotionEvidence)
	}
	// Aborted, completed, opted out or without background analysis: no record.
	for name, change := range map[string]func(*v1alpha1.Rollout){
		"aborted":        func(ro *v1alpha1.Rollout) { ro.Status.Abort = true },
		"completed":      func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "new" },
		"opted out":      func(ro *v1alpha1.Rollout) { ro.Annotations = map[string]string{evidence.Annotation: "0"} },
		"no background":  func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.Analysis = nil },
		"promoted fully": func(ro *v1alpha1.Rollout) { ro.Status.PromoteFull = true },
	} {
		ro := shortPauses()
		change(ro)
		if p := Advance(ro, obs(true), t0.Add(2*time.Second)); p.Status.Canary.PromotionEvidence != nil {
			t.Errorf("%s: status.canary.promotionEvidence %+v, want none", name, p.Status.Canary.PromotionEvidence)
		}
	}
}

// TestPlanWaitsForEvidence: through the whole plan, from a real background
// AnalysisRun: the status tells the wait as the rollout's message (phase
// Progressing, not Paused) and the journal tells it once; a measurement at
// the current weight lets the final step go.
func TestPlanWaitsForEvidence(t *testing.T) {
	stableRS := replicaSetOf(planRollout(), "1", 1)
	stableHash := stableRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	ro := planRollout()
	ro.Spec.Template.Spec.Containers[0].Image = "web:2"
	ro.Spec.Strategy.Canary.Steps[1] = pauseFor(&v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromString("1s")})
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{}
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	hash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, hash
	ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
	ro.Status.CurrentStepIndex = new(int32(1))
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(planNow)}}
	ro.Status.ControllerPause = true
	ro.Status.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{WeightSince: &metav1.Time{Time: planNow}}
	newRS := replicaSetOf(ro, "2", 1)
	started := func(d time.Duration) *metav1.Time { t := metav1.NewTime(planNow.Add(d)); return &t }
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash + "-2", Namespace: "shop", CreationTimestamp: metav1.NewTime(planNow.Add(-time.Minute)),
		Labels:      map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeBackgroundRunLabel, v1alpha1.DefaultRolloutUniqueLabelKey: hash},
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "rate"}}},
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{{
			Name: "rate", Phase: v1alpha1.AnalysisPhaseRunning, Count: 1, Successful: 1,
			Measurements: []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: started(-30 * time.Second), FinishedAt: started(-30 * time.Second)}},
		}}}}
	obs := pass.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stableRS, newRS}, Runs: []*v1alpha1.AnalysisRun{run},
		Services: map[string]*corev1.Service{"web-canary": planService("web-canary", hash), "web-stable": planService("web-stable", stableHash)},
		Now:      planNow.Add(2 * time.Second)}
	status := func(p pass.Plan) v1alpha1.RolloutStatus {
		for _, s := range p.Steps {
			if w, ok := s.(pass.WriteStatus); ok {
				return w.Status
			}
		}
		t.Fatalf("no status written:\n%s", describe(p))
		return v1alpha1.RolloutStatus{}
	}
	p := Plan(obs)
	st := status(p)
	if *st.CurrentStepIndex != 1 || st.Phase != v1alpha1.RolloutPhaseProgressing || !strings.HasPrefix(st.Message, "waiting for evidence before promotion: background metric \"rate\" has 0 of 1") {
		t.Fatalf("step %d phase %s message %q\n%s", *st.CurrentStepIndex, st.Phase, st.Message, describe(p))
	}
	if !strings.Contains(describe(p), rules.ReasonAwaitingEvidence) {
		t.Fatalf("the wait must be journaled:\n%s", describe(p))
	}
	// A measurement at the weight arrives.
	ro.Status = st
	run.Status.MetricResults[0].Measurements = append(run.Status.MetricResults[0].Measurements,
		v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: started(3 * time.Second), FinishedAt: started(3 * time.Second)})
	obs.Now = planNow.Add(4 * time.Second)
	p = Plan(obs)
	if st = status(p); *st.CurrentStepIndex != 2 || st.Canary.PromotionEvidence.Waiting != "" || !strings.Contains(describe(p), rules.ReasonStepCompleted) {
		t.Fatalf("step %d evidence %+v\n%s", *st.CurrentStepIndex, st.Canary.PromotionEvidence, describe(p))
	}
}
