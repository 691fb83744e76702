package view

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
)

func ptr[T any](v T) *T { return &v }

// canary is a Rollout updating from hash "a" (revision 1) to "b"
// (revision 2) with the given current step.
func canary(step int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "ro-uid", Generation: 2},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr(int32(4)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
				Containers:     []corev1.Container{{Name: "app", Image: "demo:green"}},
			}},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: ptr(int32(20))},
				{Pause: &v1alpha1.RolloutPause{}},
				{Analysis: &v1alpha1.RolloutAnalysis{
					Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "success-rate"}},
					Args:      []v1alpha1.AnalysisRunArgument{{Name: "service", Value: "web"}, {Name: "hash", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: ptr(v1alpha1.ValueFromPodTemplateHash("Latest"))}}},
				}},
				{Pause: &v1alpha1.RolloutPause{Duration: ptr(intstr.FromInt32(30))}},
				{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr(int32(2))}},
			}}},
		},
		Status: v1alpha1.RolloutStatus{
			ObservedGeneration: "2", StableRS: "a", CurrentPodHash: "b", CurrentStepIndex: ptr(step),
			Phase: v1alpha1.RolloutPhaseProgressing, Replicas: 4, ReadyReplicas: 3, AvailableReplicas: 3,
		},
	}
}

func replicaSet(hash, revision, image string) appsv1.ReplicaSet {
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-" + hash, Namespace: "ns",
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: revision},
			OwnerReferences: []metav1.OwnerReference{{UID: "ro-uid", Name: "web", Kind: "Rollout"}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(2)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}},
	}
}

func run(step string, measurements ...v1alpha1.Measurement) v1alpha1.AnalysisRun {
	return v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-b-2-" + step, Namespace: "ns", CreationTimestamp: metav1.NewTime(time.Unix(100, 0)),
			Labels:          map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeStepLabel, v1alpha1.RolloutCanaryStepIndexLabel: step},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "2"},
			OwnerReferences: []metav1.OwnerReference{{UID: "ro-uid", Name: "web", Kind: "Rollout"}},
		},
		Spec: v1alpha1.AnalysisRunSpec{
			Args: []v1alpha1.Argument{{Name: "service", Value: ptr("web")}, {Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}}},
			Metrics: []v1alpha1.Metric{{
				Name: "success-rate", Interval: "10s", SuccessCondition: "result[0] >= 0.95", FailureLimit: ptr(intstr.FromInt32(3)),
				Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: `sum(rate(x{service="{{args.service}}",token="{{args.token}}"}[1m]))`}},
			}},
		},
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{{
			Name: "success-rate", Phase: v1alpha1.AnalysisPhaseRunning, Successful: 1, Error: 1, Measurements: measurements,
		}}},
	}
}

func TestDetail(t *testing.T) {
	at := metav1.NewTime(time.Unix(200, 0))
	objs := tree.Objects{
		ReplicaSets:  []appsv1.ReplicaSet{replicaSet("a", "1", "demo:blue"), replicaSet("b", "2", "demo:green")},
		AnalysisRuns: []v1alpha1.AnalysisRun{run("2", v1alpha1.Measurement{Phase: "Successful", Value: "[0.97]", FinishedAt: &at}, v1alpha1.Measurement{Phase: "Error", Message: "connection refused", FinishedAt: &at})},
	}
	d := NewDetail(canary(2), objs)

	if d.Status != "Progressing" || d.Strategy != "Canary" || *d.StepIndex != 2 || d.StepCount != 5 || d.SetWeight != "20" {
		t.Errorf("summary: %+v", d.Summary)
	}
	wantContainers := []Container{{Name: "init", Image: "busybox", Init: true}, {Name: "app", Image: "demo:green"}}
	if !slices.Equal(d.Containers, wantContainers) {
		t.Errorf("containers %+v", d.Containers)
	}
	var states, texts []string
	for _, s := range d.Steps {
		states = append(states, s.State)
		texts = append(texts, s.Text)
	}
	if strings.Join(states, ",") != "done,done,current,pending,pending" {
		t.Errorf("step states %v", states)
	}
	if want := "Set weight 20%|Pause until promoted|Analysis success-rate|Pause 30s|Set canary scale: 2 replicas"; strings.Join(texts, "|") != want {
		t.Errorf("step texts %q", strings.Join(texts, "|"))
	}
	if s := d.Steps[2]; s.AnalysisRun != "web-b-2-2" || !slices.Contains(s.Details, "arg hash = (Latest pod template hash)") {
		t.Errorf("analysis step %+v", s)
	}
	if len(d.Revisions) != 2 || d.Revisions[0].Number != 2 || !d.Revisions[0].Current || d.Revisions[1].Current ||
		!slices.Equal(d.Revisions[1].Images, []string{"demo:blue"}) || !slices.Equal(d.Revisions[0].AnalysisRuns, []string{"web-b-2-2"}) {
		t.Errorf("revisions %+v", d.Revisions)
	}
	if len(d.AnalysisRuns) != 1 {
		t.Fatalf("runs %+v", d.AnalysisRuns)
	}
	m := d.AnalysisRuns[0].Metrics[0]
	if want := `sum(rate(x{service="web",token="*****"}[1m]))`; m.Query != want {
		t.Errorf("query %q, want %q (secrets masked, never read)", m.Query, want)
	}
	if m.Provider != "prometheus" || m.FailureLimit != "3" || m.Interval != "10s" || m.Successful != 1 || m.Error != 1 {
		t.Errorf("metric %+v", m)
	}
	if len(m.Measurements) != 2 || !slices.Equal(m.Measurements[0].Values, []float64{0.97}) || m.Measurements[1].Values != nil {
		t.Errorf("measurements %+v", m.Measurements)
	}
}

// TestDetailExperiment: an experiment step's Experiment shows under its
// revision with its ReplicaSets, pods and runs, its runs are listed with
// the rollout's, and the step names it.
func TestDetailExperiment(t *testing.T) {
	ro := canary(1)
	ro.Spec.Strategy.Canary.Steps[1] = v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{
		Duration:  "30s",
		Templates: []v1alpha1.RolloutExperimentTemplate{{Name: "baseline", SpecRef: "stable"}, {Name: "canary", SpecRef: "canary"}},
		Analyses:  []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{Name: "compare", TemplateName: "compare"}},
	}}
	exp := v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-b-2-1", Namespace: "ns", UID: "exp-uid", CreationTimestamp: metav1.NewTime(time.Unix(150, 0)),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "2"},
			OwnerReferences: []metav1.OwnerReference{{UID: "ro-uid", Name: "web", Kind: "Rollout"}},
		},
		Status: v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseRunning},
	}
	// Another rollout's experiment, and this one's of an older revision.
	other := *exp.DeepCopy()
	other.Name, other.UID, other.OwnerReferences = "api-c-3-1", "other-uid", []metav1.OwnerReference{{UID: "other-ro"}}
	old := *exp.DeepCopy()
	old.Name, old.UID, old.Annotations[v1alpha1.RevisionAnnotation], old.Status.Phase = "web-a-1-1", "old-uid", "1", v1alpha1.AnalysisPhaseSuccessful
	expRS := func(owner v1alpha1.Experiment, template, image string) appsv1.ReplicaSet {
		rs := replicaSet(template, "", image)
		rs.Name, rs.UID = owner.Name+"-"+template, types.UID(owner.Name+"-"+template)
		rs.Annotations = map[string]string{v1alpha1.ExperimentNameAnnotationKey: owner.Name, v1alpha1.ExperimentTemplateNameAnnotationKey: template}
		rs.OwnerReferences = []metav1.OwnerReference{{UID: owner.UID, Name: owner.Name, Kind: "Experiment"}}
		rs.Spec.Replicas = ptr(int32(1))
		rs.Status.Replicas, rs.Status.AvailableReplicas = 1, 1
		return rs
	}
	baseline, canaryRS := expRS(exp, "baseline", "demo:blue"), expRS(exp, "canary", "demo:green")
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-b-2-1-canary-x1", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{{UID: canaryRS.UID}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	compare := run("x")
	compare.Name, compare.Labels, compare.Annotations = "web-b-2-1-compare", nil, nil
	compare.OwnerReferences = []metav1.OwnerReference{{UID: exp.UID, Name: exp.Name, Kind: "Experiment"}}
	foreign := run("y")
	foreign.Name, foreign.OwnerReferences = "api-c-3-1-compare", []metav1.OwnerReference{{UID: other.UID}}
	objs := tree.Objects{
		ReplicaSets:  []appsv1.ReplicaSet{replicaSet("a", "1", "demo:blue"), replicaSet("b", "2", "demo:green"), baseline, canaryRS, expRS(other, "canary", "x")},
		Pods:         []corev1.Pod{pod},
		AnalysisRuns: []v1alpha1.AnalysisRun{compare, foreign},
		Experiments:  []v1alpha1.Experiment{other, exp, old},
	}
	d := NewDetail(ro, objs)

	if len(d.Revisions) != 2 {
		t.Fatalf("revisions %+v", d.Revisions)
	}
	cur := d.Revisions[0]
	if len(cur.Experiments) != 1 || len(cur.ReplicaSets) != 1 || cur.ReplicaSets[0].Name != "web-b" {
		t.Fatalf("revision 2: experiments %+v, replicaSets %+v", cur.Experiments, cur.ReplicaSets)
	}
	e := cur.Experiments[0]
	if e.Name != "web-b-2-1" || e.Status != "Running" || e.StepIndex == nil || *e.StepIndex != 1 ||
		!slices.Equal(e.AnalysisRuns, []string{"web-b-2-1-compare"}) || len(e.ReplicaSets) != 2 {
		t.Errorf("experiment %+v", e)
	}
	if rs := e.ReplicaSets[1]; rs.Name != "web-b-2-1-canary" || rs.Template != "canary" || len(rs.Pods) != 1 || rs.Pods[0].Name != "web-b-2-1-canary-x1" {
		t.Errorf("experiment ReplicaSet %+v", rs)
	}
	if prev := d.Revisions[1].Experiments; len(prev) != 1 || prev[0].Name != "web-a-1-1" || prev[0].Status != "Successful" || len(prev[0].ReplicaSets) != 0 {
		t.Errorf("revision 1 experiments %+v", prev)
	}
	if len(d.AnalysisRuns) != 1 || d.AnalysisRuns[0].Name != "web-b-2-1-compare" || d.AnalysisRuns[0].Experiment != "web-b-2-1" || d.AnalysisRuns[0].Revision != 2 {
		t.Errorf("runs %+v", d.AnalysisRuns)
	}
	s := d.Steps[1]
	if s.Kind != "experiment" || s.Text != "Experiment for 30s" || s.Experiment != "web-b-2-1" || s.ExperimentStatus != "Running" || s.State != StepCurrent ||
		!slices.Equal(s.Details, []string{"template baseline (spec ref stable)", "template canary (spec ref canary)", "analysis compare: compare"}) {
		t.Errorf("experiment step %+v", s)
	}
}

// TestExperimentStep: the step index is read from the rollout controller's
// name for an Experiment, and only from that.
func TestExperimentStep(t *testing.T) {
	ro := canary(0)
	for _, tc := range []struct {
		name string
		rev  int
		want *int32
	}{
		{"web-6f8c5b4d9-3-2", 3, ptr(int32(2))},
		{"web-6f8c5b4d9-3-12", 3, ptr(int32(12))},
		{"web-6f8c5b4d9-4-2", 3, nil},
		{"api-6f8c5b4d9-3-2", 3, nil},
		{"web-6f8c5b4d9-3-x", 3, nil},
		{"web-3", 3, nil},
		{"my-experiment", 0, nil},
	} {
		got := experimentStep(ro, tc.name, tc.rev)
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s (revision %d): got %v, want %v", tc.name, tc.rev, got, tc.want)
		}
	}
}

func TestActionsAndAttention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edit      func(*v1alpha1.Rollout)
		actions   Actions
		attention string
	}{
		{"paused at a step", func(ro *v1alpha1.Rollout) {
			ro.Status.Phase = v1alpha1.RolloutPhasePaused
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
		}, Actions{Promote: true, PromoteFull: true, Abort: true, Restart: true, Pause: true}, ""},
		{"paused by a user", func(ro *v1alpha1.Rollout) {
			ro.Spec.Paused = true
			ro.Status.Phase = v1alpha1.RolloutPhasePaused
		}, Actions{Promote: true, PromoteFull: true, Abort: true, Restart: true}, "paused by a user (spec.paused); promote to resume"},
		{"inconclusive", func(ro *v1alpha1.Rollout) {
			ro.Status.Phase = v1alpha1.RolloutPhasePaused
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}
		}, Actions{Promote: true, PromoteFull: true, Abort: true, Restart: true, Pause: true}, "paused: InconclusiveAnalysisRun"},
		{"aborted", func(ro *v1alpha1.Rollout) {
			ro.Status.Abort = true
			ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseDegraded, "RolloutAborted: metric failed"
		}, Actions{PromoteFull: true, Retry: true, Restart: true}, "Degraded: RolloutAborted: metric failed"},
		{"healthy", func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "b"
			ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
		}, Actions{Restart: true, Pause: true}, ""},
		{"unknown phase", func(ro *v1alpha1.Rollout) {
			ro.Status.Phase = "Exploding"
		}, Actions{Promote: true, PromoteFull: true, Abort: true, Restart: true, Pause: true}, "status unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := canary(1)
			tc.edit(ro)
			s := NewSummary(ro, tree.Objects{})
			if s.Actions != tc.actions || s.Attention != tc.attention {
				t.Errorf("actions %+v attention %q\nwant %+v %q", s.Actions, s.Attention, tc.actions, tc.attention)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string][]float64{
		"0.5": {0.5}, "[0.97]": {0.97}, "[1, 2.5]": {1, 2.5}, `["3"]`: {3}, "": nil, "NaN-ish": nil, "{}": nil,
	} {
		if got := numbers(in); !slices.Equal(got, want) {
			t.Errorf("numbers(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestDetailJudgement: a judge metric carries its latest judgement, read
// from its newest measurement that holds one, and the table sums up each
// judge value; another provider's JSON value is not read as a judgement.
func TestDetailJudgement(t *testing.T) {
	r := run("2",
		v1alpha1.Measurement{Phase: "Failed", Value: `{"score":50,"outcome":"Fail","verdicts":[{"metric":"p95","class":"High","baselineMedian":0.1,"canaryMedian":0.12,` +
			`"effect":0.2,"effectLow":0.15,"effectHigh":0.25,"effectOf":"median","pValue":1e-6,"baselineN":60,"canaryN":60,"critical":true,"reason":""}],` +
			`"reason":"r","samples":[{"baseline":[0.08,0.09,0.095,0.1,0.105,0.11,0.13],"canary":[0.1,0.11,0.115,0.12,0.125,0.13,null]}]}`},
		v1alpha1.Measurement{Phase: "Error", Message: "prometheus: connection refused"})
	r.Spec.Metrics[0].Provider = v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{judge.PluginKey: json.RawMessage(`{}`)}}
	r.Spec.Metrics = append(r.Spec.Metrics, v1alpha1.Metric{Name: "other", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{"acme/thing": json.RawMessage(`{}`)}}})
	r.Status.MetricResults = append(r.Status.MetricResults, v1alpha1.MetricResult{Name: "other", Measurements: []v1alpha1.Measurement{{Phase: "Successful", Value: `{"score":1,"outcome":"Pass"}`}}})
	d := NewDetail(canary(2), tree.Objects{AnalysisRuns: []v1alpha1.AnalysisRun{r}})

	m := d.AnalysisRuns[0].Metrics[0]
	if m.Judgement == nil || m.Judgement.Metric != "success-rate" || m.Judgement.Phase != "Failed" || m.Judgement.Value.Outcome != judge.OutcomeFail {
		t.Fatalf("judgement %+v, want the Failed measurement's", m.Judgement)
	}
	v := m.Judgement.Value
	if len(v.Verdicts) != 1 || v.Verdicts[0].Class != judge.High || len(v.Samples) != 1 || v.Samples[0].Canary[3] != 0.12 || !math.IsNaN(float64(v.Samples[0].Canary[6])) {
		t.Errorf("judgement value %+v", v)
	}
	if got := []string{m.Measurements[0].Outcome, m.Measurements[1].Outcome}; !slices.Equal(got, []string{"Fail, score 50", ""}) {
		t.Errorf("outcomes %q", got)
	}
	if o := d.AnalysisRuns[0].Metrics[1]; o.Judgement != nil || o.Measurements[0].Outcome != "" {
		t.Errorf("another plugin's metric %+v: want no judgement", o)
	}
	b, err := json.Marshal(m)
	if err != nil || !strings.Contains(string(b), `"judgement":{"metric":"success-rate","phase":"Failed",`) || !strings.Contains(string(b), `"canary":[0.1,0.11,0.115,0.12,0.125,0.13,null]`) {
		t.Errorf("JSON %s, %v: want the judgement with the quantiles, null where not finite", b, err)
	}
}
