package canary

import (
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

// exScene is a rollout of revision 2 at an experiment step (index 1 of
// setWeight 20, experiment, pause), with its stable and new ReplicaSets
// and Services.
type exScene struct {
	ro               *v1alpha1.Rollout
	stable, canary   *appsv1.ReplicaSet
	hash, stableHash string
	base             string
}

func newExScene(step int32) exScene {
	v1 := planRollout()
	stable := replicaSetOf(v1, "1", 2)
	ro := planRollout()
	ro.Labels = map[string]string{"team": "shop", v1alpha1.LabelControllerInstanceID: "blue"}
	ro.Spec.Template.Spec.Containers[0].Image = "web:2"
	ro.Spec.ProgressDeadlineSeconds = new(int32(300))
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		{SetWeight: new(int32(20))},
		{Experiment: &v1alpha1.RolloutExperimentStep{
			Duration: "30s",
			Templates: []v1alpha1.RolloutExperimentTemplate{
				{Name: "baseline", SpecRef: v1alpha1.StableSpecRef, Replicas: new(int32(1))},
				{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Weight: new(int32(10)), Metadata: v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "exp"}}},
			},
			Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{Name: "compare", TemplateName: "mann-whitney", RequiredForCompletion: true,
				Args: []v1alpha1.AnalysisRunArgument{
					{Name: "baseline-hash", Value: "{{templates.baseline.podTemplateHash}}"},
					{Name: "stable", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: new(v1alpha1.Stable)}},
				}}},
		}},
		{Pause: &v1alpha1.RolloutPause{}},
	}
	s := exScene{ro: ro, stable: stable, stableHash: stable.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]}
	s.hash = podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.StableRS, ro.Status.CurrentPodHash = s.stableHash, s.hash
	ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
	ro.Status.CurrentStepIndex = &step
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	s.canary = replicaSetOf(ro, "2", 1)
	s.canary.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: s.hash}}
	s.stable.Spec.Replicas = new(int32(1)) // at the 20% step's size
	s.stable.Status.Replicas, s.stable.Status.AvailableReplicas, s.stable.Status.ReadyReplicas = 1, 1, 1
	s.base = "web-" + s.hash + "-2-1"
	return s
}

func (s exScene) obs(exs ...*v1alpha1.Experiment) pass.Observed {
	return pass.Observed{Rollout: s.ro, ReplicaSets: []*appsv1.ReplicaSet{s.stable, s.canary}, Experiments: exs, Now: planNow,
		Services: map[string]*corev1.Service{"web-canary": planService("web-canary", s.hash), "web-stable": planService("web-stable", s.stableHash)}}
}

// experiment is an Experiment of the scene's step as the planner names
// it, in phase.
func (s exScene) experiment(name string, phase v1alpha1.AnalysisPhase, msg string) *v1alpha1.Experiment {
	return &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: "ex-" + "1",
			Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: s.hash}, CreationTimestamp: metav1.NewTime(planNow.Add(-time.Minute))},
		Status: v1alpha1.ExperimentStatus{Phase: phase, Message: msg, TemplateStatuses: []v1alpha1.TemplateStatus{
			{Name: "baseline", Status: v1alpha1.TemplateStatusRunning, PodTemplateHash: "b1", ServiceName: ""},
			{Name: "canary", Status: v1alpha1.TemplateStatusRunning, PodTemplateHash: "c1", ServiceName: name + "-canary"},
		}},
	}
}

func stepsOf[T pass.Step](p pass.Plan) []T {
	var out []T
	for _, s := range p.Steps {
		if t, ok := s.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func statusOf(t *testing.T, p pass.Plan) v1alpha1.RolloutStatus {
	t.Helper()
	ws := stepsOf[pass.WriteStatus](p)
	if p.Invalid != "" || len(ws) != 1 {
		t.Fatalf("want one status write, got plan %s", describe(p))
	}
	return ws[0].Status
}

func eventsOf(p pass.Plan) []string {
	var out []string
	for _, j := range stepsOf[pass.Journal](p) {
		for _, e := range j.Events {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// The step's Experiment is built as Argo Rollouts builds it.
func TestExperimentStepCreatesTheExperiment(t *testing.T) {
	s := newExScene(1)
	p := Plan(s.obs())
	creates := stepsOf[pass.CreateExperiment](p)
	if len(creates) != 1 {
		t.Fatalf("want one CreateExperiment, got plan:\n%s", describe(p))
	}
	ex := creates[0].Experiment
	if ex.Name != s.base {
		t.Errorf("name %q, want %q (<rollout>-<hash>-<revision>-<step>)", ex.Name, s.base)
	}
	if ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != s.hash || ex.Labels["team"] != "shop" || ex.Labels[v1alpha1.LabelControllerInstanceID] != "blue" {
		t.Errorf("labels %v: want the rollout's, the instance id and the hash", ex.Labels)
	}
	if ex.Annotations[v1alpha1.RevisionAnnotation] != "2" {
		t.Errorf("annotations %v: want revision 2", ex.Annotations)
	}
	if ref := metav1.GetControllerOf(ex); ref == nil || ref.UID != "u1" || ref.Kind != "Rollout" {
		t.Errorf("owner %+v: want the rollout as controller", ref)
	}
	if ex.Spec.Duration != "30s" || ex.Spec.ProgressDeadlineSeconds == nil || *ex.Spec.ProgressDeadlineSeconds != 300 {
		t.Errorf("spec duration %q deadline %v", ex.Spec.Duration, ex.Spec.ProgressDeadlineSeconds)
	}
	if len(ex.Spec.Templates) != 2 {
		t.Fatalf("templates %+v", ex.Spec.Templates)
	}
	base, can := ex.Spec.Templates[0], ex.Spec.Templates[1]
	if base.Template.Spec.Containers[0].Image != "web:1" || base.Service != nil || *base.Replicas != 1 {
		t.Errorf("baseline: image %s service %v: want the stable template and no Service", base.Template.Spec.Containers[0].Image, base.Service)
	}
	if can.Template.Spec.Containers[0].Image != "web:2" || can.Service == nil || can.Template.Labels["role"] != "exp" ||
		can.Selector.MatchLabels["role"] != "exp" || can.Selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] != s.hash {
		t.Errorf("canary: %+v: want the new template with the step's label in pods and selector, and a Service for its weight", can)
	}
	a := ex.Spec.Analyses
	if len(a) != 1 || a[0].Name != "compare" || !a[0].RequiredForCompletion || *a[0].Args[0].Value != "{{templates.baseline.podTemplateHash}}" || *a[0].Args[1].Value != s.stableHash {
		t.Errorf("analyses %+v: placeholders kept for the Experiment, valueFrom resolved", a)
	}
	if st := statusOf(t, p); st.Canary.CurrentExperiment != s.base || *st.CurrentStepIndex != 1 {
		t.Errorf("status currentExperiment %q step %d", st.Canary.CurrentExperiment, *st.CurrentStepIndex)
	}
}

func TestExperimentStepDecisions(t *testing.T) {
	named := func(step int32, name string, mutate ...func(*v1alpha1.Rollout)) exScene {
		s := newExScene(step)
		s.ro.Status.Canary.CurrentExperiment = name
		for _, m := range mutate {
			m(s.ro)
		}
		return s
	}
	s := newExScene(1)
	running := s.experiment(s.base, v1alpha1.AnalysisPhaseRunning, "")
	for _, c := range []struct {
		name       string
		scene      exScene
		exs        []*v1alpha1.Experiment
		step       int32
		current    string
		pause      v1alpha1.PauseReason
		abort      string
		terminate  []string
		delete     []string
		create     bool
		events     []string
		superseded []string
	}{
		{name: "running: the step waits on it and the status names it", scene: named(1, s.base), exs: []*v1alpha1.Experiment{running},
			step: 1, current: s.base},
		{name: "a status write lost after the create: the running one is found by name, not created twice", scene: newExScene(1),
			exs: []*v1alpha1.Experiment{running}, step: 1, current: s.base},
		{name: "successful: the step completes, the status no longer names it", scene: named(1, s.base),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseSuccessful, "")}, step: 2,
			events: []string{"RolloutStepCompleted: Rollout step 2/3 completed (experiment)", "RolloutPaused: Rollout is paused (CanaryPauseStep)"}},
		{name: "failed: the rollout aborts with the Experiment's message", scene: named(1, s.base),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseFailed, "Metric \"compare\" assessed Failed")}, step: 0,
			abort:  "Rollout aborted update to revision 2: Metric \"compare\" assessed Failed",
			events: []string{"RolloutAborted: Rollout aborted update to revision 2: Metric \"compare\" assessed Failed"}},
		{name: "error without a message: the abort says which Experiment", scene: named(1, s.base),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseError, "")}, step: 0,
			abort: "Rollout aborted update to revision 2: Experiment " + s.base + " ended Error"},
		{name: "inconclusive: paused InconclusiveExperiment, still named", scene: named(1, s.base),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseInconclusive, "")}, step: 1, current: s.base,
			pause: v1alpha1.PauseReasonInconclusiveExperiment, events: []string{"RolloutPaused: Rollout is paused (InconclusiveExperiment)"}},
		{name: "inconclusive and promoted (the pause cleared, the controller's flag left): the step completes", scene: named(1, s.base,
			func(ro *v1alpha1.Rollout) { ro.Status.ControllerPause = true }),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseInconclusive, "")}, step: 2,
			events: []string{"RolloutStepCompleted: Rollout step 2/3 completed (experiment)", "RolloutResumed: Rollout is resumed", "RolloutPaused: Rollout is paused (CanaryPauseStep)"}},
		{name: "promoted past the step (the CLI moved the index): the Experiment is terminated", scene: named(2, s.base),
			exs: []*v1alpha1.Experiment{running}, step: 2, terminate: []string{s.base}, events: []string{"RolloutPaused: Rollout is paused (CanaryPauseStep)"}},
		{name: "promote --full: terminated", scene: named(1, s.base, func(ro *v1alpha1.Rollout) { ro.Status.PromoteFull = true }),
			exs: []*v1alpha1.Experiment{running}, step: 3, terminate: []string{s.base}},
		{name: "a user's abort: terminated, and marked as the aborted attempt's", scene: named(1, s.base, func(ro *v1alpha1.Rollout) {
			ro.Status.Abort = true
			ro.Status.AbortedAt = &metav1.Time{Time: planNow}
		}), exs: []*v1alpha1.Experiment{running}, step: 1, terminate: []string{s.base}, superseded: []string{s.base}},
		{name: "a finished one the status no longer names is history: a new one is asked for", scene: newExScene(1),
			exs: []*v1alpha1.Experiment{s.experiment(s.base, v1alpha1.AnalysisPhaseSuccessful, "")}, step: 1, current: s.base, create: true},
		{name: "an old revision's Experiment whose ReplicaSet is gone is deleted", scene: named(1, s.base),
			exs: []*v1alpha1.Experiment{running, func() *v1alpha1.Experiment {
				old := s.experiment("web-gone-1-1", v1alpha1.AnalysisPhaseSuccessful, "")
				old.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = "gone"
				return old
			}()}, step: 1, current: s.base, delete: []string{"web-gone-1-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Plan(c.scene.obs(c.exs...))
			st := statusOf(t, p)
			if *st.CurrentStepIndex != c.step || st.Canary.CurrentExperiment != c.current {
				t.Errorf("step %d currentExperiment %q, want %d %q", *st.CurrentStepIndex, st.Canary.CurrentExperiment, c.step, c.current)
			}
			if got := len(stepsOf[pass.CreateExperiment](p)) > 0; got != c.create {
				t.Errorf("create %v, want %v", got, c.create)
			}
			var pauses []v1alpha1.PauseReason
			for _, pc := range st.PauseConditions {
				pauses = append(pauses, pc.Reason)
			}
			if c.pause != "" && !slices.Contains(pauses, c.pause) {
				t.Errorf("pauses %v, want %s", pauses, c.pause)
			}
			if cond := rules.FindCondition(st.Conditions, v1alpha1.RolloutProgressing); c.abort != "" && (!st.Abort || cond == nil || cond.Message != c.abort) {
				t.Errorf("abort %v condition %+v, want %q", st.Abort, cond, c.abort)
			}
			var terminated, deleted, superseded []string
			for _, s := range stepsOf[pass.TerminateExperiment](p) {
				terminated = append(terminated, s.Name)
			}
			for _, s := range stepsOf[pass.DeleteExperiment](p) {
				deleted = append(deleted, s.Name)
			}
			for _, s := range stepsOf[pass.MarkSuperseded](p) {
				superseded = append(superseded, s.Experiments...)
			}
			if !slices.Equal(terminated, c.terminate) || !slices.Equal(deleted, c.delete) || !slices.Equal(superseded, c.superseded) {
				t.Errorf("terminated %v deleted %v superseded %v, want %v %v %v", terminated, deleted, superseded, c.terminate, c.delete, c.superseded)
			}
			var evs []string
			for _, e := range eventsOf(p) {
				if !strings.HasPrefix(e, "RolloutNotCompleted") {
					evs = append(evs, e)
				}
			}
			if c.events != nil && !slices.Equal(evs, c.events) {
				t.Errorf("events %q, want %q", evs, c.events)
			}
		})
	}
}

// A superseded Experiment of the aborted attempt never counts for a retry.
func TestExperimentOfAnAbortedAttemptDoesNotPassTheRetry(t *testing.T) {
	s := newExScene(1)
	ex := s.experiment(s.base, v1alpha1.AnalysisPhaseSuccessful, "")
	ex.Annotations = map[string]string{rules.SupersededAnnotation: "2026-01-01T11:00:00Z"}
	s.ro.Status.Canary.CurrentExperiment = s.base
	p := Plan(s.obs(ex))
	if st := statusOf(t, p); *st.CurrentStepIndex != 1 || len(stepsOf[pass.CreateExperiment](p)) != 1 {
		t.Fatalf("step %d, plan:\n%s\nwant a new Experiment at step 1", *st.CurrentStepIndex, describe(p))
	}
}

// A running Experiment's weighted templates are additional destinations;
// the stable keeps 100 - canary - their weights.
func TestExperimentTraffic(t *testing.T) {
	s := newExScene(1)
	s.ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{SMI: &v1alpha1.SMITrafficRouting{}}
	s.ro.Status.Canary.CurrentExperiment = s.base
	for _, c := range []struct {
		name       string
		phase      v1alpha1.AnalysisPhase
		additional []v1alpha1.WeightDestination
		stable     int32
	}{
		{"running", v1alpha1.AnalysisPhaseRunning, []v1alpha1.WeightDestination{{ServiceName: s.base + "-canary", PodTemplateHash: "c1", Weight: 10}}, 70},
		{"pending: not yet", v1alpha1.AnalysisPhasePending, nil, 80},
		{"inconclusive: no longer", v1alpha1.AnalysisPhaseInconclusive, nil, 80},
		{"running, its Service not there yet", v1alpha1.AnalysisPhaseRunning, nil, 80},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex := s.experiment(s.base, c.phase, "")
			if strings.Contains(c.name, "Service not there") {
				ex.Status.TemplateStatuses[1].ServiceName = ""
			}
			obs := s.obs(ex)
			obs.Routed = true
			routes := stepsOf[pass.Route](Plan(obs))
			if len(routes) != 1 {
				t.Fatal("no Route step")
			}
			d := routes[0].Decision
			if d.Desired != 20 || d.Stable != c.stable || !slices.Equal(d.Additional, c.additional) {
				t.Errorf("canary %d stable %d additional %+v, want 20 %d %+v", d.Desired, d.Stable, d.Additional, c.stable, c.additional)
			}
			if w := routes[0].Weights; w == nil || !slices.Equal(w.Additional, c.additional) || w.Stable.Weight != c.stable {
				t.Errorf("status weights %+v", w)
			}
		})
	}
}
