package v1alpha1_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestSchemeRegistersEveryKind(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{
		"Rollout", "RolloutList", "AnalysisTemplate", "AnalysisTemplateList",
		"ClusterAnalysisTemplate", "ClusterAnalysisTemplateList",
		"AnalysisRun", "AnalysisRunList", "Experiment", "ExperimentList",
	} {
		gvk := v1alpha1.GroupVersion.WithKind(kind)
		if !s.Recognizes(gvk) {
			t.Errorf("%s is not registered", gvk)
		}
	}
	if v1alpha1.GroupVersion.String() != "argoproj.io/v1alpha1" {
		t.Errorf("group version %s", v1alpha1.GroupVersion)
	}
}

// The empty objects pin the omitempty behaviour of the top-level fields,
// which is the same as Argo Rollouts': selector, template and strategy are
// always encoded, and status.canary and status.blueGreen are never omitted.
func TestEmptyObjectEncoding(t *testing.T) {
	cases := []struct {
		obj  any
		want string
	}{
		{&v1alpha1.Rollout{}, `{"metadata":{},"spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}},"strategy":{}},"status":{"canary":{},"blueGreen":{}}}`},
		{&v1alpha1.AnalysisRun{}, `{"metadata":{},"spec":{"metrics":null},"status":{"phase":"","runSummary":{}}}`},
		{&v1alpha1.AnalysisTemplate{}, `{"metadata":{},"spec":{}}`},
		{&v1alpha1.Experiment{}, `{"metadata":{},"spec":{"templates":null,"analysisRunMetadata":{}},"status":{}}`},
		{&v1alpha1.RolloutStatus{HPAReplicas: 3, ObservedGeneration: "7"}, `{"observedGeneration":"7","canary":{},"blueGreen":{},"HPAReplicas":3}`},
	}
	for _, tc := range cases {
		got, err := json.Marshal(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		// creationTimestamp encoding depends on the apimachinery version.
		s := strings.ReplaceAll(string(got), `"creationTimestamp":null`, "")
		if s != tc.want {
			t.Errorf("%T:\n got  %s\n want %s", tc.obj, s, tc.want)
		}
	}
}

func TestResolvedTemplateIsNotEncoded(t *testing.T) {
	ro := v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{
		Replicas:    ptr.To[int32](3),
		WorkloadRef: &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
	}}
	ro.Spec.SetResolvedTemplate(corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}})
	ro.Spec.SetResolvedSelector(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})
	if ro.Spec.EmptyTemplate() {
		t.Error("a resolved template with labels is not empty")
	}

	for name, v := range map[string]any{"pointer": &ro, "value": ro} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		spec := back["spec"].(map[string]any)
		for _, k := range []string{"template", "selector", "TemplateResolvedFromRef", "SelectorResolvedFromRef"} {
			if _, ok := spec[k]; ok {
				t.Errorf("%s: spec.%s must not be encoded: %s", name, k, data)
			}
		}
		if spec["replicas"] != float64(3) || spec["workloadRef"] == nil {
			t.Errorf("%s: the other fields must stay: %s", name, data)
		}
	}

	// Only the resolved part is left out.
	ro.Spec.SelectorResolvedFromRef = false
	data, _ := json.Marshal(&ro)
	if !strings.Contains(string(data), `"selector":{"matchLabels":{"app":"web"}}`) || strings.Contains(string(data), `"template"`) {
		t.Errorf("selector kept, template dropped expected: %s", data)
	}
	if (&v1alpha1.RolloutSpec{}).EmptyTemplate() != true {
		t.Error("a zero template is empty")
	}
}

func TestPauseDurationSeconds(t *testing.T) {
	cases := []struct {
		d    *intstr.IntOrString
		want int32
	}{
		{nil, 0},
		{v1alpha1.DurationFromInt(30), 30},
		{v1alpha1.DurationFromString("45"), 45},
		{v1alpha1.DurationFromString("2m"), 120},
		{v1alpha1.DurationFromString("1h30m"), 5400},
		{v1alpha1.DurationFromString("1.5s"), 1},
		{v1alpha1.DurationFromString("soon"), -1},
		{v1alpha1.DurationFromString(""), -1},
	}
	for _, tc := range cases {
		if got := (v1alpha1.RolloutPause{Duration: tc.d}).DurationSeconds(); got != tc.want {
			t.Errorf("duration %v: got %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestEffectiveCount(t *testing.T) {
	n := func(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	cases := []struct {
		name     string
		m        v1alpha1.Metric
		want     *intstr.IntOrString
		wantNone bool
	}{
		{"neither count nor interval: one", v1alpha1.Metric{}, n(1), false},
		{"interval only: unbounded", v1alpha1.Metric{Interval: "10s"}, nil, true},
		{"count 0 with interval: unbounded", v1alpha1.Metric{Interval: "10s", Count: n(0)}, nil, true},
		{"count 5", v1alpha1.Metric{Interval: "10s", Count: n(5)}, n(5), false},
		{"count as a string", v1alpha1.Metric{Interval: "1m", Count: s("3")}, s("3"), false},
	}
	for _, tc := range cases {
		got := tc.m.EffectiveCount()
		switch {
		case tc.wantNone && got != nil:
			t.Errorf("%s: got %v, want nil", tc.name, got)
		case !tc.wantNone && (got == nil || *got != *tc.want):
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPhaseHelpers(t *testing.T) {
	for p, done := range map[v1alpha1.AnalysisPhase]bool{
		v1alpha1.AnalysisPhasePending: false, v1alpha1.AnalysisPhaseRunning: false,
		v1alpha1.AnalysisPhaseSuccessful: true, v1alpha1.AnalysisPhaseFailed: true,
		v1alpha1.AnalysisPhaseError: true, v1alpha1.AnalysisPhaseInconclusive: true,
	} {
		if p.Completed() != done {
			t.Errorf("%s.Completed() = %v", p, !done)
		}
	}
	for c, done := range map[v1alpha1.TemplateStatusCode]bool{
		v1alpha1.TemplateStatusProgressing: false, v1alpha1.TemplateStatusRunning: false,
		v1alpha1.TemplateStatusSuccessful: true, v1alpha1.TemplateStatusFailed: true, v1alpha1.TemplateStatusError: true,
	} {
		if c.Completed() != done {
			t.Errorf("%s.Completed() = %v", c, !done)
		}
	}
	for _, p := range []v1alpha1.StepPluginPhase{"Running", "Successful", "Failed", "Error"} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := v1alpha1.StepPluginPhase("Pending").Validate(); err == nil {
		t.Error("Pending is not a step plugin phase")
	}
	ref := v1alpha1.AnalysisTemplateRef{TemplateName: "t"}
	if ref.IsClusterScope() {
		t.Error("clusterScope unset means namespaced")
	}
	ref.ClusterScope = ptr.To(true)
	if !ref.IsClusterScope() {
		t.Error("clusterScope true")
	}
	if d, err := v1alpha1.DurationString("90s").Duration(); err != nil || d.Seconds() != 90 {
		t.Errorf("DurationString: %v %v", d, err)
	}
}

// DeepCopy of every seed object is equal to it and shares no memory with it.
func TestDeepCopySeeds(t *testing.T) {
	for _, d := range seedDocs(t) {
		if d.apiVersion() != v1alpha1.GroupVersion.String() {
			continue
		}
		obj, err := newArgoObject(d.kind())
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(d.json, obj); err != nil {
			t.Fatal(err)
		}
		cp := obj.DeepCopyObject()
		if !apiequality.Semantic.DeepEqual(obj, cp) {
			t.Errorf("%s: DeepCopy differs", d.where)
		}
		// Mutating the copy's labels must not reach the original.
		if ro, ok := cp.(*v1alpha1.Rollout); ok && ro.Spec.Template.Labels != nil {
			ro.Spec.Template.Labels["mutated"] = "yes"
			if _, leaked := obj.(*v1alpha1.Rollout).Spec.Template.Labels["mutated"]; leaked {
				t.Errorf("%s: DeepCopy shares the template labels", d.where)
			}
		}
	}
}
