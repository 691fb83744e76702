package canary

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// planRollout is a canary with a 50% step, an indefinite pause and a
// canary and stable Service.
func planRollout() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", Generation: 1}}
	ro.Spec.Replicas = new(int32(2))
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Template.Labels = map[string]string{"app": "web"}
	ro.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "web:1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{CanaryService: "web-canary", StableService: "web-stable",
		Steps: []v1alpha1.CanaryStep{{SetWeight: new(int32(50))}, {Pause: &v1alpha1.RolloutPause{}}}}
	return ro
}

func planService(name, hash string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
	svc.Spec.Selector = map[string]string{"app": "web"}
	if hash != "" {
		svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
		svc.Annotations = map[string]string{v1alpha1.ManagedByRolloutsKey: "web"}
	}
	return svc
}

// replicaSetOf is the ReplicaSet the planner would have created for ro's
// template, at replicas, all of them available.
func replicaSetOf(ro *v1alpha1.Rollout, revision string, replicas int32) *appsv1.ReplicaSet {
	hash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: podhash.ReplicaSetName(ro.Name, hash), Namespace: "shop",
			Labels:            map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations:       map[string]string{v1alpha1.RevisionAnnotation: revision, v1alpha1.DesiredReplicasAnnotation: "2"},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &replicas, Template: ro.Spec.Template},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

// describe renders a plan's steps one per line, in a form a table can
// state.
func describe(p pass.Plan) string {
	if p.Invalid != "" {
		return "invalid: " + p.Invalid
	}
	var out []string
	for _, s := range p.Steps {
		switch s := s.(type) {
		case pass.Journal:
			var reasons []string
			for _, e := range s.Events {
				reasons = append(reasons, e.Reason)
			}
			out = append(out, "journal "+strings.Join(reasons, ","))
		case pass.WriteStatus:
			idx := "-"
			if s.Status.CurrentStepIndex != nil {
				idx = fmt.Sprint(*s.Status.CurrentStepIndex)
			}
			line := fmt.Sprintf("status step %s paused %v phase %s", idx, len(s.Status.PauseConditions) > 0, s.Status.Phase)
			if h := s.Status.ControllerPauseStep; h != "" {
				line += " held " + h
			}
			if s.Defer {
				line += " deferred"
			}
			if s.KeepFacts {
				line += " keepfacts"
			}
			out = append(out, line)
		case pass.CreateReplicaSet:
			out = append(out, fmt.Sprintf("create at %d", *s.ReplicaSet.Spec.Replicas))
		case pass.Scale:
			out = append(out, fmt.Sprintf("scale %s %d->%d", s.ReplicaSet[len(s.ReplicaSet)-3:], s.From, s.To))
		case pass.SwitchService:
			out = append(out, "switch "+s.Name)
		case pass.Annotate:
			var keys []string
			for k, v := range s.Annotations {
				keys = append(keys, k+"="+v)
			}
			slices.Sort(keys)
			out = append(out, "annotate "+strings.Join(keys, ","))
		default:
			out = append(out, fmt.Sprintf("%T", s)[len("pass."):])
		}
	}
	return strings.Join(out, "\n")
}

var planNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestPlan(t *testing.T) {
	v1 := planRollout()
	stableRS := replicaSetOf(v1, "1", 2)
	stableHash := stableRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	// v2 is an update of v1 with the stable's status.
	v2 := func(step int32, pauses ...v1alpha1.PauseCondition) *v1alpha1.Rollout {
		ro := planRollout()
		ro.Spec.Template.Spec.Containers[0].Image = "web:2"
		ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, podhash.PodTemplateHash(&ro.Spec.Template, nil)
		ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
		ro.Status.CurrentStepIndex = &step
		ro.Status.PauseConditions = pauses
		ro.Status.ControllerPause = true // paused at the gate, or resumed there with no condition left
		ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
		return ro
	}
	v2Hash := podhash.PodTemplateHash(&v2(0).Spec.Template, nil)
	services := func(canaryHash string) map[string]*corev1.Service {
		return map[string]*corev1.Service{"web-canary": planService("web-canary", canaryHash), "web-stable": planService("web-stable", stableHash)}
	}
	for _, c := range []struct {
		name string
		obs  pass.Observed
		want []string
	}{
		{
			name: "first deploy: the ReplicaSet is created at full size before any Service points at it, then the status",
			obs:  pass.Observed{Rollout: v1, Services: map[string]*corev1.Service{"web-canary": planService("web-canary", ""), "web-stable": planService("web-stable", "")}},
			want: []string{"ReleaseRouterObjects", "create at 2", "annotate rollout.argoproj.io/revision=1", "journal RolloutCompleted", "status step 2 paused false phase Progressing"},
		},
		{
			name: "a missing Service is InvalidSpec, and nothing is done",
			obs:  pass.Observed{Rollout: v1, Services: map[string]*corev1.Service{}},
			want: []string{`invalid: spec.strategy.canary.canaryService: service "web-canary" not found in namespace "shop": create the Service or correct the name`},
		},
		{
			name: "an update: the new ReplicaSet is created at the first step's size, the stable kept whole",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := planRollout()
				ro.Spec.Template.Spec.Containers[0].Image = "web:2"
				ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, stableHash
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{stableRS}, Services: services(stableHash)},
			// RolloutUpdated and NewReplicaSetCreated go with the create.
			want: []string{"ReleaseRouterObjects", "create at 1", "annotate rollout.argoproj.io/revision=2", "journal RolloutNotCompleted", "status step 0 paused false phase Progressing"},
		},
		{
			name: "at a pause: the gate holds; the stable is at the step's size (50%: 1 of 2)",
			obs: pass.Observed{Rollout: v2(1, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(planNow)}),
				ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(v2(1), "2", 1)}, Services: services(podhash.PodTemplateHash(&v2(1).Spec.Template, nil))},
			want: []string{"ReleaseRouterObjects", "scale " + stableHash[len(stableHash)-3:] + " 2->1",
				"journal RolloutNotCompleted", "status step 1 paused true phase Paused held " + v2Hash + "/1"},
		},
		{
			name: "promoted at the gate: the last step completes in the same pass, and the stable makes room first (maxSurge 1 of 2)",
			obs: pass.Observed{Rollout: v2(1), ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(v2(1), "2", 1)},
				Services: services(podhash.PodTemplateHash(&v2(1).Spec.Template, nil))},
			want: []string{"ReleaseRouterObjects", "scale " + stableHash[len(stableHash)-3:] + " 2->1",
				"journal RolloutNotCompleted,RolloutStepCompleted,RolloutResumed", "status step 2 paused false phase Progressing"},
		},
		{
			name: "Argo CD's skip from one pause: {} onto the next: the second gate holds (the flag it leaves is the first gate's)",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := v2(1) // skip: currentStepIndex 0 -> 1, pauseConditions cleared, controllerPause left set
				ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{}}, {Pause: &v1alpha1.RolloutPause{}}}
				ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
				ro.Status.ControllerPauseStep = v2Hash + "/0"
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(v2(1), "2", 1)}, Services: services(v2Hash)},
			want: []string{"ReleaseRouterObjects", "scale " + v2Hash[len(v2Hash)-3:] + " 1->0",
				"journal RolloutNotCompleted,RolloutPaused", "status step 1 paused true phase Paused held " + v2Hash + "/1"},
		},
		{
			name: "Argo CD's skip from one pause: {} onto the next, the step held recorded as an earlier Aviary did (annotation): the second gate holds",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := v2(1) // skip: currentStepIndex 0 -> 1, pauseConditions cleared, controllerPause left set
				ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{}}, {Pause: &v1alpha1.RolloutPause{}}}
				ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
				ro.Annotations[rules.PausedAtAnnotation] = v2Hash + "/0"
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(v2(1), "2", 1)}, Services: services(v2Hash)},
			want: []string{"ReleaseRouterObjects", "scale " + v2Hash[len(v2Hash)-3:] + " 1->0",
				"journal RolloutNotCompleted,RolloutPaused", "status step 1 paused true phase Paused held " + v2Hash + "/1"},
		},
		{
			name: "a promote at the gate the controller holds resumes it",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := v2(1)
				ro.Annotations[rules.PausedAtAnnotation] = v2Hash + "/1"
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(v2(1), "2", 1)}, Services: services(v2Hash)},
			want: []string{"ReleaseRouterObjects", "scale " + stableHash[len(stableHash)-3:] + " 2->1",
				"journal RolloutNotCompleted,RolloutStepCompleted,RolloutResumed", "status step 2 paused false phase Progressing"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.obs.Now = planNow
			got := describe(Plan(c.obs))
			if want := strings.Join(c.want, "\n"); got != want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// A reconcile that only scales, its status moved only with the pods, defers
// the status write to the reconcile the scale brings; one that decides
// anything writes it.
func TestPlanDefersACountsOnlyStatus(t *testing.T) {
	v1 := planRollout()
	stableRS := replicaSetOf(v1, "1", 2)
	stableHash := stableRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	ro := planRollout()
	ro.Spec.Template.Spec.Containers[0].Image = "web:2"
	ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, stableHash
	ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
	canaryRS := replicaSetOf(ro, "2", 1)
	canaryRS.Status.ReadyReplicas, canaryRS.Status.AvailableReplicas = 0, 0
	canaryHash := canaryRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	svcs := map[string]*corev1.Service{"web-canary": planService("web-canary", canaryHash), "web-stable": planService("web-stable", stableHash)}

	// The canary pod is not available yet: the update's first status.
	first := Plan(pass.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stableRS, canaryRS}, Services: svcs, Now: planNow})
	var st v1alpha1.RolloutStatus
	for _, s := range first.Steps {
		if w, ok := s.(pass.WriteStatus); ok {
			if w.Defer {
				t.Fatalf("the update's first status deferred:\n%s", describe(first))
			}
			st = w.Status
		}
	}
	// Now it is: the stable makes room (maxUnavailable 25% of 2 is 0).
	ro.Status = st
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	avail := canaryRS.DeepCopy()
	avail.Status.ReadyReplicas, avail.Status.AvailableReplicas = 1, 1
	second := pass.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stableRS, avail}, Services: svcs, Now: planNow.Add(time.Second)}
	p := Plan(second)
	want := strings.Join([]string{"ReleaseRouterObjects", "scale " + stableHash[len(stableHash)-3:] + " 2->1", "status step 0 paused false phase Progressing deferred keepfacts"}, "\n")
	if got := describe(p); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	if p.RequeueAfter <= 0 || p.RequeueAfter > rules.CountsDelay {
		t.Errorf("deferred with requeue %v, want within %v", p.RequeueAfter, rules.CountsDelay)
	}
	// The counts have waited long enough: written, whatever comes next;
	// the scale's fact still waits for the step it leads to.
	second.CountsWaiting = rules.CountsDelay
	want = strings.Replace(want, " deferred", "", 1)
	if got := describe(Plan(second)); got != want {
		t.Errorf("after %v waiting, plan:\n%s\nwant:\n%s", rules.CountsDelay, got, want)
	}
	// Facts that waited long enough are told.
	second.FactsWaiting = rules.UpdateDelay
	want = strings.Replace(want, " keepfacts", "", 1)
	if got := describe(Plan(second)); got != want {
		t.Errorf("after %v of facts waiting, plan:\n%s\nwant:\n%s", rules.UpdateDelay, got, want)
	}
}

// TestPlanTellsRunPhases: the plan journals a run's new phase, compared
// with the status recorded before the pass, before the decision it leads
// to — an abort that clears the run's field included.
func TestPlanTellsRunPhases(t *testing.T) {
	stableRS := replicaSetOf(planRollout(), "1", 1)
	stableHash := stableRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	rollout := func(recorded v1alpha1.AnalysisPhase) *v1alpha1.Rollout {
		ro := planRollout()
		ro.Spec.Template.Spec.Containers[0].Image = "web:2"
		ro.Spec.Strategy.Canary.Steps[1] = v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{}}
		ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
		hash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
		ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, hash
		ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
		ro.Status.CurrentStepIndex = new(int32(1))
		ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "web-" + hash + "-2-1", Status: recorded}
		return ro
	}
	newRS := replicaSetOf(rollout(""), "2", 1)
	hash := newRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	name := "web-" + hash + "-2-1"
	run := func(phase v1alpha1.AnalysisPhase) *v1alpha1.AnalysisRun {
		msg := ""
		if phase == v1alpha1.AnalysisPhaseFailed {
			msg = `Metric "ok" assessed Failed`
		}
		return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(planNow.Add(-time.Minute)),
			Labels: map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeStepLabel, v1alpha1.RolloutCanaryStepIndexLabel: "1",
				v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
			Status: v1alpha1.AnalysisRunStatus{Phase: phase, Message: msg}}
	}
	for _, c := range []struct {
		name            string
		recorded, phase v1alpha1.AnalysisPhase
		paused          bool
		want            []rules.Event // the journal's run and abort events
		wantRecord      *v1alpha1.RolloutAnalysisRunStatus
	}{
		{name: "the run starts: told, and recorded", recorded: v1alpha1.AnalysisPhasePending, phase: v1alpha1.AnalysisPhaseRunning,
			want:       []rules.Event{{Reason: rules.ReasonAnalysisRunRunning, Message: "Step Analysis Run '" + name + "' Status New: 'Running' Previous: 'Pending'"}},
			wantRecord: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseRunning}},
		{name: "the run fails: told before the abort, whose status drops the run", recorded: v1alpha1.AnalysisPhaseRunning, phase: v1alpha1.AnalysisPhaseFailed,
			want: []rules.Event{
				{Warning: true, Reason: rules.ReasonAnalysisRunFailed, Message: "Step Analysis Run '" + name + "' Status New: 'Failed' Previous: 'Running'"},
				{Warning: true, Reason: rules.ReasonAborted, Message: `Rollout aborted update to revision 2: Metric "ok" assessed Failed`},
			}},
		{name: "the same phase again: nothing told", recorded: v1alpha1.AnalysisPhaseRunning, phase: v1alpha1.AnalysisPhaseRunning,
			wantRecord: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseRunning}},
		{name: "a user's pause holds the step and its record: told once a pass records it", recorded: v1alpha1.AnalysisPhaseRunning, phase: v1alpha1.AnalysisPhaseSuccessful, paused: true,
			wantRecord: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseRunning}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ro := rollout(c.recorded)
			ro.Spec.Paused = c.paused
			p := Plan(pass.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stableRS, newRS}, Runs: []*v1alpha1.AnalysisRun{run(c.phase)},
				Services: map[string]*corev1.Service{"web-canary": planService("web-canary", hash), "web-stable": planService("web-stable", stableHash)}, Now: planNow})
			var told []rules.Event
			var record *v1alpha1.RolloutAnalysisRunStatus
			for _, s := range p.Steps {
				switch s := s.(type) {
				case pass.Journal:
					for _, e := range s.Events {
						if strings.HasPrefix(e.Reason, "AnalysisRun") || e.Reason == rules.ReasonAborted {
							told = append(told, e)
						}
					}
				case pass.WriteStatus:
					record = s.Status.Canary.CurrentStepAnalysisRunStatus
				}
			}
			if !slices.Equal(told, c.want) {
				t.Errorf("journaled %v, want %v\n%s", told, c.want, describe(p))
			}
			if (record == nil) != (c.wantRecord == nil) || record != nil && *record != *c.wantRecord {
				t.Errorf("status records %+v, want %+v", record, c.wantRecord)
			}
		})
	}
}
