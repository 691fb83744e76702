package experiment

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

// exp is an Experiment with a baseline and a canary (with a Service).
func exp(mut ...func(*v1alpha1.Experiment)) *v1alpha1.Experiment {
	tmpl := func(name string) v1alpha1.TemplateSpec {
		return v1alpha1.TemplateSpec{Name: name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"role": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:" + name, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}}
	}
	ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "ex", Namespace: "ns", UID: "uid", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec: v1alpha1.ExperimentSpec{Duration: "1m", Templates: []v1alpha1.TemplateSpec{tmpl("baseline"), tmpl("canary")}}}
	ex.Spec.Templates[1].Service = &v1alpha1.TemplateService{}
	for _, m := range mut {
		m(ex)
	}
	return ex
}

// rsOf is the ReplicaSet the planner creates for a template, at size n
// with available pods.
func rsOf(ex *v1alpha1.Experiment, i int, spec, available int32, annotations ...string) *appsv1.ReplicaSet {
	rs := newReplicaSet(ex, ex.Spec.Templates[i], nil)
	rs.ResourceVersion = "7"
	rs.Spec.Replicas = ptr(spec)
	rs.Status = appsv1.ReplicaSetStatus{Replicas: available, ReadyReplicas: available, AvailableReplicas: available}
	for j := 0; j+1 < len(annotations); j += 2 {
		rs.Annotations[annotations[j]] = annotations[j+1]
	}
	return rs
}

func running(ex *v1alpha1.Experiment, availableAt time.Duration) {
	ex.Status.Phase = v1alpha1.AnalysisPhaseRunning
	ex.Status.AvailableAt = at(availableAt)
	for _, t := range ex.Spec.Templates {
		ex.Status.TemplateStatuses = append(ex.Status.TemplateStatuses, v1alpha1.TemplateStatus{Name: t.Name, Status: v1alpha1.TemplateStatusRunning,
			Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, LastTransitionTime: at(availableAt)})
	}
}

func stepsOf[T Step](p Plan) []T {
	var out []T
	for _, s := range p.Steps {
		if v, ok := s.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func status(p Plan) v1alpha1.ExperimentStatus {
	return p.Steps[len(p.Steps)-1].(WriteStatus).Status
}

func reasons(p Plan) []string {
	var out []string
	for _, j := range stepsOf[Journal](p) {
		for _, e := range j.Events {
			out = append(out, e.Reason)
		}
	}
	return out
}

func TestNewExperimentCreatesReplicaSetsAtZero(t *testing.T) {
	ex := exp(func(e *v1alpha1.Experiment) { e.Labels = map[string]string{v1alpha1.LabelControllerInstanceID: "blue"} })
	p := Decide(Observed{Experiment: ex, Now: t0})
	creates := stepsOf[CreateReplicaSet](p)
	if len(creates) != 2 {
		t.Fatalf("creates: %v", p.Steps)
	}
	rs := creates[0].ReplicaSet
	hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	if rs.Name != "ex-baseline" || *rs.Spec.Replicas != 0 || hash == "" || rs.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash ||
		rs.Spec.Selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash || rs.Spec.Selector.MatchLabels["role"] != "baseline" ||
		rs.Annotations[v1alpha1.ExperimentNameAnnotationKey] != "ex" || rs.Annotations[v1alpha1.ExperimentTemplateNameAnnotationKey] != "baseline" ||
		rs.Labels[v1alpha1.LabelControllerInstanceID] != "blue" || metav1.GetControllerOf(rs).UID != "uid" {
		t.Errorf("ReplicaSet: %+v %+v", rs.ObjectMeta, rs.Spec)
	}
	st := status(p)
	if st.Phase != v1alpha1.AnalysisPhasePending || len(st.TemplateStatuses) != 2 || st.TemplateStatuses[0].Status != v1alpha1.TemplateStatusProgressing {
		t.Errorf("status: %+v", st)
	}
	if c := st.Conditions; len(c) != 1 || c[0].Reason != ReasonReplicaSetUpdated || c[0].Message != `Experiment "ex" is progressing.` {
		t.Errorf("conditions: %+v", c)
	}
	if got := reasons(p); !reflect.DeepEqual(got, []string{"TemplateProgressing", "TemplateProgressing"}) {
		t.Errorf("events: %v", got)
	}
}

// TestTemplateFromRolloutReplicaSetGetsItsOwnHash: a specRef template is
// the Rollout ReplicaSet's pod template, hash label included. The
// experiment's ReplicaSet must not carry that hash, or the Rollout's
// Services, subsets and ReplicaSet selectors would take in its pods; like
// Argo Rollouts, it hashes as Kubernetes hashes a Deployment's template.
func TestTemplateFromRolloutReplicaSetGetsItsOwnHash(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}
	stableHash := podhash.PodTemplateHash(&tmpl, nil)
	copied := *tmpl.DeepCopy()
	copied.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = stableHash
	ex := exp(func(e *v1alpha1.Experiment) {
		e.Spec.Templates = []v1alpha1.TemplateSpec{{Name: "baseline", Template: copied,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: stableHash}}}}
	})
	rs := stepsOf[CreateReplicaSet](Decide(Observed{Experiment: ex, Now: t0}))[0].ReplicaSet
	got := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	if got == stableHash || got != podhash.LegacyPodTemplateHash(&tmpl, nil) {
		t.Fatalf("hash %q: want Kubernetes' Deployment hash %q of the template, never the Rollout's %q", got, podhash.LegacyPodTemplateHash(&tmpl, nil), stableHash)
	}
	if rs.Spec.Selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] != got || rs.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != got {
		t.Fatalf("selector %v and pod labels %v must carry the experiment's hash %q", rs.Spec.Selector.MatchLabels, rs.Spec.Template.Labels, got)
	}
}

// TestForeignReplicaSetName: a template's ReplicaSet name held by a
// ReplicaSet the Experiment does not control is an Error naming it and the
// fix, not a create retried forever.
func TestForeignReplicaSetName(t *testing.T) {
	ex := exp()
	p := Decide(Observed{Experiment: ex, Now: t0, ForeignReplicaSets: map[string]bool{"ex-baseline": true}})
	creates := stepsOf[CreateReplicaSet](p)
	if len(creates) != 1 || creates[0].Template != "canary" {
		t.Fatalf("creates %v: want only the canary's", creates)
	}
	st := status(p)
	ts := st.TemplateStatuses[0]
	want := "Failed to create ReplicaSet ex-baseline for template 'baseline': a ReplicaSet of that name already exists and is not controlled by experiment ex; delete it or rename the template"
	if ts.Status != v1alpha1.TemplateStatusError || ts.Message != want {
		t.Fatalf("template status %+v, want Error with %q", ts, want)
	}
	// The next pass (phase no longer empty) ends the Experiment with it.
	ex.Status = st
	st = status(Decide(Observed{Experiment: ex, Now: t0.Add(time.Second), ForeignReplicaSets: map[string]bool{"ex-baseline": true}}))
	if st.Phase != v1alpha1.AnalysisPhaseError || st.Message != want {
		t.Fatalf("phase %s %q, want Error with the template's message", st.Phase, st.Message)
	}
}

func TestPlan(t *testing.T) {
	base := exp()
	cases := []struct {
		name  string
		ex    *v1alpha1.Experiment
		rs    func(*v1alpha1.Experiment) []*appsv1.ReplicaSet
		svcs  []*corev1.Service
		now   time.Time
		check func(t *testing.T, p Plan)
	}{{
		name: "a ReplicaSet created at 0 is scaled to its replicas, and the Service follows",
		ex:   exp(func(e *v1alpha1.Experiment) { e.Status.Phase = v1alpha1.AnalysisPhasePending }),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 0, 0), rsOf(e, 1, 0, 0)}
		},
		check: func(t *testing.T, p Plan) {
			scales := stepsOf[ScaleReplicaSet](p)
			svcs := stepsOf[CreateService](p)
			if len(scales) != 2 || scales[0].Replicas != 1 || len(svcs) != 1 || svcs[0].Service.Name != "ex-canary" ||
				svcs[0].Service.Spec.Ports[0].Port != 8080 || svcs[0].Service.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] == "" {
				t.Errorf("steps: %+v", p.Steps)
			}
			if ts := status(p).TemplateStatuses[1]; ts.ServiceName != "ex-canary" || ts.PodTemplateHash == "" {
				t.Errorf("canary status: %+v", ts)
			}
		},
	}, {
		name: "every template available: Running, availableAt, requeue at the end of the duration",
		ex:   exp(func(e *v1alpha1.Experiment) { e.Status.Phase = v1alpha1.AnalysisPhasePending }),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 1), rsOf(e, 1, 1, 1)}
		},
		svcs: []*corev1.Service{newService(base, "canary", "ex-canary", rsOf(base, 1, 1, 1), nil)},
		check: func(t *testing.T, p Plan) {
			st := status(p)
			if st.Phase != v1alpha1.AnalysisPhaseRunning || st.AvailableAt == nil || !st.AvailableAt.Time.Equal(t0) ||
				st.TemplateStatuses[0].Status != v1alpha1.TemplateStatusRunning {
				t.Errorf("status: %+v", st)
			}
			if len(stepsOf[CreateService](p)) != 0 {
				t.Errorf("the Service exists: %v", p.Steps)
			}
		},
	}, {
		name: "the duration passed: templates and Experiment Successful",
		ex:   exp(func(e *v1alpha1.Experiment) { running(e, -2*time.Minute) }),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 1), rsOf(e, 1, 1, 1)}
		},
		check: func(t *testing.T, p Plan) {
			st := status(p)
			if st.Phase != v1alpha1.AnalysisPhaseSuccessful || st.TemplateStatuses[1].Status != v1alpha1.TemplateStatusSuccessful {
				t.Errorf("status: %+v", st)
			}
			if c := condition(&st, v1alpha1.ExperimentProgressing); c == nil || c.Status != corev1.ConditionFalse || c.Reason != ReasonExperimentCompleted {
				t.Errorf("condition: %+v", c)
			}
			if got := reasons(p); !reflect.DeepEqual(got, []string{"TemplateSuccessful", "TemplateSuccessful"}) {
				t.Errorf("events: %v", got)
			}
		},
	}, {
		name: "completed: the scale-down deadline is written first and waited for",
		ex: exp(func(e *v1alpha1.Experiment) {
			running(e, -2*time.Minute)
			e.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
		}),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 1), rsOf(e, 1, 1, 1)}
		},
		check: func(t *testing.T, p Plan) {
			marks := stepsOf[SetScaleDownDeadline](p)
			if len(marks) != 2 || marks[0].Deadline != t0.Add(30*time.Second).Format(time.RFC3339) || len(stepsOf[ScaleReplicaSet](p)) != 0 ||
				p.RequeueAfter != 30*time.Second {
				t.Errorf("plan: %+v requeue %s", p.Steps, p.RequeueAfter)
			}
		},
	}, {
		name: "the deadline passed: scaled to 0 and the Service deleted",
		ex: exp(func(e *v1alpha1.Experiment) {
			running(e, -2*time.Minute)
			e.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
		}),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			d := t0.Add(-time.Second).Format(time.RFC3339)
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 1, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, d),
				rsOf(e, 1, 1, 1, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, d)}
		},
		svcs: []*corev1.Service{newService(base, "canary", "ex-canary", rsOf(base, 1, 1, 1), nil)},
		check: func(t *testing.T, p Plan) {
			scales := stepsOf[ScaleReplicaSet](p)
			dels := stepsOf[DeleteService](p)
			if len(scales) != 2 || scales[1].Replicas != 0 || len(dels) != 1 || dels[0].Service.Name != "ex-canary" {
				t.Errorf("plan: %+v", p.Steps)
			}
			if got := reasons(p); !reflect.DeepEqual(got, []string{"ScalingReplicaSet", "TemplateSuccessful", "ScalingReplicaSet", "TemplateSuccessful"}) {
				t.Errorf("events: %v", got)
			}
		},
	}, {
		name: "a template not available within progressDeadlineSeconds fails the Experiment",
		ex: exp(func(e *v1alpha1.Experiment) {
			e.Spec.ProgressDeadlineSeconds = ptr(int32(60))
			e.Status.Phase = v1alpha1.AnalysisPhasePending
			e.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "baseline", Status: v1alpha1.TemplateStatusProgressing, LastTransitionTime: at(-61 * time.Second)},
				{Name: "canary", Status: v1alpha1.TemplateStatusProgressing, LastTransitionTime: at(-61 * time.Second)}}
		}),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 0), rsOf(e, 1, 1, 1)}
		},
		check: func(t *testing.T, p Plan) {
			st := status(p)
			want := "Template 'baseline' exceeded its progressDeadlineSeconds (60)"
			if st.Phase != v1alpha1.AnalysisPhaseFailed || st.Message != want || st.TemplateStatuses[0].Status != v1alpha1.TemplateStatusFailed {
				t.Errorf("status: %+v", st)
			}
			if got := reasons(p); len(got) != 2 || got[0] != "TemplateFailed" || got[1] != "TemplateRunning" {
				t.Errorf("events: %v", got)
			}
		},
	}, {
		name: "a retry (status cleared) scales the ReplicaSets up again and drops the old deadline",
		ex:   exp(),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 0, 0, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, "2020-01-01T00:00:00Z"), rsOf(e, 1, 0, 0)}
		},
		check: func(t *testing.T, p Plan) {
			marks := stepsOf[SetScaleDownDeadline](p)
			scales := stepsOf[ScaleReplicaSet](p)
			if len(marks) != 1 || marks[0].Deadline != "" || len(scales) != 2 || scales[0].Replicas != 1 || status(p).Phase != v1alpha1.AnalysisPhasePending {
				t.Errorf("plan: %+v", p.Steps)
			}
		},
	}, {
		name: "terminate: the templates end Successful and are scaled down after the delay",
		ex: exp(func(e *v1alpha1.Experiment) {
			running(e, -10*time.Second)
			e.Spec.Terminate = true
		}),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 1), rsOf(e, 1, 1, 1)}
		},
		check: func(t *testing.T, p Plan) {
			st := status(p)
			if st.Phase != v1alpha1.AnalysisPhaseSuccessful || len(stepsOf[SetScaleDownDeadline](p)) != 2 {
				t.Errorf("plan: %+v status %+v", p.Steps, st)
			}
		},
	}, {
		name: "another object holds the Service's name: the template errs",
		ex:   exp(func(e *v1alpha1.Experiment) { e.Status.Phase = v1alpha1.AnalysisPhasePending }),
		rs: func(e *v1alpha1.Experiment) []*appsv1.ReplicaSet {
			return []*appsv1.ReplicaSet{rsOf(e, 0, 1, 0), rsOf(e, 1, 1, 0)}
		},
		svcs: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "ex-canary", Namespace: "ns"}}},
		check: func(t *testing.T, p Plan) {
			st := status(p)
			if st.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(st.Message, "service ex-canary already exists") || len(stepsOf[CreateService](p)) != 0 {
				t.Errorf("status: %+v", st)
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			if now.IsZero() {
				now = t0
			}
			var rss []*appsv1.ReplicaSet
			if c.rs != nil {
				rss = c.rs(c.ex)
			}
			p := Decide(Observed{Experiment: c.ex, ReplicaSets: rss, Services: c.svcs, Now: now})
			if _, ok := p.Steps[len(p.Steps)-1].(WriteStatus); !ok {
				t.Fatalf("the plan does not end with the status: %+v", p.Steps)
			}
			c.check(t, p)
		})
	}
}

// analysed is an Experiment running with one analysis.
func analysed(required bool) *v1alpha1.Experiment {
	return exp(func(e *v1alpha1.Experiment) {
		e.Spec.Duration = ""
		e.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "compare", TemplateName: "cmp", RequiredForCompletion: required,
			Args: []v1alpha1.Argument{{Name: "canary-hash", Value: ptr("{{templates.canary.podTemplateHash}}")}}}}
		e.Spec.AnalysisRunMetadata = v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"team": "a"}}
		e.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "m"}}
		running(e, -5*time.Second)
	})
}

var cmp = []templates.Template{{Name: "cmp", Spec: &v1alpha1.AnalysisTemplateSpec{
	Args:    []v1alpha1.Argument{{Name: "canary-hash"}},
	Metrics: []v1alpha1.Metric{{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x/{{args.canary-hash}}"}}}},
}}}

func TestAnalyses(t *testing.T) {
	hashOf := func(ex *v1alpha1.Experiment) string {
		return rsOf(ex, 1, 1, 1).Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	t.Run("created once available, args resolved, named after the Experiment", func(t *testing.T) {
		ex := analysed(true)
		p := Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rsOf(ex, 0, 1, 1), rsOf(ex, 1, 1, 1)},
			Templates: map[string]Resolved{"compare": {Templates: cmp}}, Now: t0})
		runs := stepsOf[CreateRun](p)
		if len(runs) != 1 {
			t.Fatalf("steps: %+v", p.Steps)
		}
		r := runs[0].Run
		if r.Name != "ex-compare" || *r.Spec.Args[0].Value != hashOf(ex) || r.Labels["team"] != "a" || len(r.Spec.DryRun) != 1 ||
			r.Annotations[AttemptAnnotation] != attempt(ex.Status.AvailableAt) || metav1.GetControllerOf(r).UID != "uid" {
			t.Errorf("run: %+v %+v", r.ObjectMeta, r.Spec)
		}
		if st := status(p).AnalysisRuns[0]; st.AnalysisRun != "ex-compare" || st.Phase != v1alpha1.AnalysisPhasePending {
			t.Errorf("status: %+v", st)
		}
	})
	t.Run("a name taken by an earlier attempt's run gets the next suffix", func(t *testing.T) {
		ex := analysed(true)
		p := Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rsOf(ex, 0, 1, 1), rsOf(ex, 1, 1, 1)},
			TakenRunNames: map[string]bool{"ex-compare": true, "ex-compare.1": true},
			Templates:     map[string]Resolved{"compare": {Templates: cmp}}, Now: t0})
		if runs := stepsOf[CreateRun](p); len(runs) != 1 || runs[0].Run.Name != "ex-compare.2" {
			t.Errorf("steps: %+v", p.Steps)
		}
	})
	t.Run("a run this attempt created before a crash is adopted, not created again", func(t *testing.T) {
		ex := analysed(true)
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "ex-compare.1", Annotations: map[string]string{AttemptAnnotation: attempt(ex.Status.AvailableAt)}},
			Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning}}
		old := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "ex-compare", Annotations: map[string]string{AttemptAnnotation: "2020-01-01T00:00:00Z"}}}
		p := Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rsOf(ex, 0, 1, 1), rsOf(ex, 1, 1, 1)}, Runs: []*v1alpha1.AnalysisRun{old, run},
			Templates: map[string]Resolved{"compare": {Templates: cmp}}, Now: t0})
		if len(stepsOf[CreateRun](p)) != 0 || status(p).AnalysisRuns[0].AnalysisRun != "ex-compare.1" || status(p).AnalysisRuns[0].Phase != v1alpha1.AnalysisPhasePending {
			t.Errorf("plan: %+v", p.Steps)
		}
	})
	followed := func(phase v1alpha1.AnalysisPhase, required bool, terminate bool) (*v1alpha1.Experiment, Plan) {
		ex := analysed(required)
		ex.Spec.Terminate = terminate
		ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: "ex-compare", Phase: v1alpha1.AnalysisPhaseRunning}}
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "ex-compare"}, Status: v1alpha1.AnalysisRunStatus{Phase: phase, Message: "why"}}
		return ex, Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rsOf(ex, 0, 1, 1), rsOf(ex, 1, 1, 1)}, Runs: []*v1alpha1.AnalysisRun{run}, Now: t0})
	}
	for _, c := range []struct {
		run      v1alpha1.AnalysisPhase
		required bool
		want     v1alpha1.AnalysisPhase
		msg      string
	}{
		{v1alpha1.AnalysisPhaseSuccessful, true, v1alpha1.AnalysisPhaseSuccessful, ""},
		{v1alpha1.AnalysisPhaseFailed, true, v1alpha1.AnalysisPhaseFailed, "why"},
		{v1alpha1.AnalysisPhaseInconclusive, false, v1alpha1.AnalysisPhaseInconclusive, "why"},
		{v1alpha1.AnalysisPhaseRunning, true, v1alpha1.AnalysisPhaseRunning, ""},
		// Not required and successful: the Experiment runs on (no duration: until terminated).
		{v1alpha1.AnalysisPhaseSuccessful, false, v1alpha1.AnalysisPhaseRunning, ""},
	} {
		t.Run(fmt.Sprintf("run %s required %v: Experiment %s", c.run, c.required, c.want), func(t *testing.T) {
			_, p := followed(c.run, c.required, false)
			if st := status(p); st.Phase != c.want || st.Message != c.msg || st.AnalysisRuns[0].Phase != c.run {
				t.Errorf("status: %+v", st)
			}
		})
	}
	t.Run("terminating: a running run is terminated, once", func(t *testing.T) {
		_, p := followed(v1alpha1.AnalysisPhaseRunning, true, true)
		if runs := stepsOf[TerminateRun](p); len(runs) != 1 || runs[0].Run.Name != "ex-compare" {
			t.Errorf("steps: %+v", p.Steps)
		}
		if got := reasons(p); !reflect.DeepEqual(got[len(got)-1:], []string{ReasonAnalysisRunTerminate}) {
			t.Errorf("events: %v", got)
		}
	})
	t.Run("a run deleted before completing errs", func(t *testing.T) {
		ex := analysed(true)
		ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: "ex-compare", Phase: v1alpha1.AnalysisPhaseRunning}}
		p := Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rsOf(ex, 0, 1, 1), rsOf(ex, 1, 1, 1)}, Now: t0})
		if st := status(p); st.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(st.Message, "ex-compare was deleted") {
			t.Errorf("status: %+v", st)
		}
	})
}

func TestInvalid(t *testing.T) {
	for _, c := range []struct {
		name string
		mut  func(*v1alpha1.Experiment)
		want string
	}{
		{"no templates", func(e *v1alpha1.Experiment) { e.Spec.Templates = nil }, "spec.templates: Required value"},
		{"duplicate names", func(e *v1alpha1.Experiment) { e.Spec.Templates[1].Name = "baseline" },
			"spec.templates[1].name: Duplicate value: Experiment ex has repeated template name 'baseline'"},
		{"selector not matching", func(e *v1alpha1.Experiment) { e.Spec.Templates[0].Selector.MatchLabels["role"] = "x" },
			`spec.templates[0].selector: Invalid value: "role=x": does not match spec.templates[0].template.metadata.labels (role=baseline)`},
		{"no selector", func(e *v1alpha1.Experiment) { e.Spec.Templates[0].Selector = nil }, "spec.templates[0].selector: Required value"},
		{"bad duration", func(e *v1alpha1.Experiment) { e.Spec.Duration = "soon" }, `spec.duration: Invalid value: "soon"`},
		{"unknown placeholder", func(e *v1alpha1.Experiment) {
			e.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t", Args: []v1alpha1.Argument{{Name: "h", Value: ptr("{{templates.nope.podTemplateHash}}")}}}}
		}, `spec.analyses[0].args[0].value: Invalid value: "{{templates.nope.podTemplateHash}}": failed to resolve {{templates.nope.podTemplateHash}}`},
		{"minReadySeconds beyond the deadline", func(e *v1alpha1.Experiment) { e.Spec.Templates[0].MinReadySeconds = 601 },
			"spec.templates[0].minReadySeconds: Invalid value: 601: MinReadySeconds cannot be longer than ProgressDeadlineSeconds (600)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex := exp(c.mut)
			rs := rsOf(exp(), 0, 1, 1)
			p := Decide(Observed{Experiment: ex, ReplicaSets: []*appsv1.ReplicaSet{rs}, Now: t0})
			st := status(p)
			cond := condition(&st, v1alpha1.InvalidExperimentSpec)
			if st.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(st.Message, c.want) || cond == nil || cond.Message != st.Message {
				t.Errorf("status: %+v", st)
			}
			if got := reasons(p); len(got) == 0 || got[0] != ReasonInvalidSpec {
				t.Errorf("events: %v", got)
			}
			if s := stepsOf[ScaleReplicaSet](p); len(s) != 1 || s[0].Replicas != 0 {
				t.Errorf("what it ran is not wound down: %+v", p.Steps)
			}
			// Again from the status written: no second event, no change.
			ex.Status = st
			again := Decide(Observed{Experiment: ex, Now: t0.Add(time.Minute)})
			if len(reasons(again)) != 0 || !reflect.DeepEqual(status(again), st) {
				t.Errorf("not idempotent: %v %+v", reasons(again), status(again))
			}
		})
	}
}

func TestMissingTemplateWaitsThenErrs(t *testing.T) {
	ex := exp(func(e *v1alpha1.Experiment) {
		e.CreationTimestamp = metav1.NewTime(t0.Add(-time.Minute))
		e.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}}
	})
	missing := map[string]Resolved{"a": {Err: errors.New(`AnalysisTemplate "t" not found in namespace ns; create it or fix the name`)}}
	p := Decide(Observed{Experiment: ex, Templates: missing, Now: t0})
	st := status(p)
	if st.Phase != v1alpha1.AnalysisPhasePending || condition(&st, v1alpha1.InvalidExperimentSpec) == nil || len(stepsOf[CreateReplicaSet](p)) != 0 || p.RequeueAfter != HoldRecheck {
		t.Errorf("waiting: %+v %+v", p.Steps, st)
	}
	p = Decide(Observed{Experiment: ex, Templates: missing, Now: t0.Add(10 * time.Minute)})
	if st := status(p); st.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(st.Message, `spec.analyses[0].templateName: AnalysisTemplate "t" not found`) {
		t.Errorf("after the deadline: %+v", st)
	}
	// Found: the condition goes and the Experiment starts.
	ex.Status = st
	ex.Status.Phase = v1alpha1.AnalysisPhasePending
	p = Decide(Observed{Experiment: ex, Templates: map[string]Resolved{"a": {Templates: []templates.Template{{Name: "t", Spec: &v1alpha1.AnalysisTemplateSpec{
		Metrics: []v1alpha1.Metric{{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x"}}}}}}}}}, Now: t0})
	if st := status(p); condition(&st, v1alpha1.InvalidExperimentSpec) != nil || len(stepsOf[CreateReplicaSet](p)) != 2 {
		t.Errorf("found: %+v %+v", p.Steps, st)
	}
}

func TestResolveArgs(t *testing.T) {
	ex := exp()
	avail := metav1.NewTime(t0)
	values := ArgValues(ex, map[string]*appsv1.ReplicaSet{"canary": rsOf(ex, 1, 1, 1)}, &avail)
	hash := rsOf(ex, 1, 1, 1).Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	for _, c := range []struct{ in, want, err string }{
		{"{{templates.canary.podTemplateHash}}", hash, ""},
		{"rs={{ templates.canary.replicaset.name }}!", "rs=ex-canary!", ""},
		{"{{experiment.availableAt}}..{{experiment.finishedAt}}", "2026-01-02T03:04:05Z..2026-01-02T03:05:05Z", ""},
		{"{{templates.baseline.podTemplateHash}}", "", "failed to resolve {{templates.baseline.podTemplateHash}}"},
		{"plain {{ text", "plain {{ text", ""},
	} {
		got, err := ResolveArgs([]v1alpha1.Argument{{Name: "a", Value: ptr(c.in)}, {Name: "s", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "n", Key: "k"}}}}, values)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v", c.in, err)
			}
		case err != nil || *got[0].Value != c.want || got[1].ValueFrom == nil:
			t.Errorf("%s: %v %v", c.in, got, err)
		}
	}
}
