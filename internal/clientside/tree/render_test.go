package tree

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// -update rewrites the golden files from the current output; review the
// diff before committing it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// now is the fixed time the fixtures' ages are measured from.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

const week = 7 * 24 * time.Hour

// fixture is a Rollout and what it owns, built with the helpers below.
type fixture struct {
	ro   *v1alpha1.Rollout
	objs Objects
}

func canaryRollout(name string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "jesse-test", UID: types.UID(name), CreationTimestamp: ago(week), Generation: 4},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](5),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: steps}},
		},
		Status: v1alpha1.RolloutStatus{ObservedGeneration: "4"},
	}
}

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: &w} }

func pause(seconds int) v1alpha1.CanaryStep {
	p := &v1alpha1.RolloutPause{}
	if seconds > 0 {
		p.Duration = ptr.To(intstr.FromInt32(int32(seconds)))
	}
	return v1alpha1.CanaryStep{Pause: p}
}

// addRS adds a ReplicaSet of owner at rev with replicas (all available
// unless available says otherwise) and that many running pods.
func (f *fixture) addRS(owner metav1.Object, hash string, rev int, image string, replicas int32, age time.Duration, podStates ...corev1.ContainerState) *appsv1.ReplicaSet {
	name := owner.GetName() + "-" + hash
	rs := appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "jesse-test", UID: types.UID(name), CreationTimestamp: ago(age), Generation: 2,
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(rev)},
			OwnerReferences: []metav1.OwnerReference{{UID: owner.GetUID(), Name: owner.GetName()}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas, ObservedGeneration: 2},
	}
	for i := range replicas {
		state := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		if int(i) < len(podStates) {
			state = podStates[i]
		}
		ready := state.Running != nil
		if !ready {
			rs.Status.ReadyReplicas--
			rs.Status.AvailableReplicas--
		}
		f.objs.Pods = append(f.objs.Pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%c%c%c%c%c", name, 'a'+i, 'b'+i, 'c'+i, 'x', 'z'-i), Namespace: "jesse-test",
				CreationTimestamp: ago(age), OwnerReferences: []metav1.OwnerReference{{UID: rs.UID}},
			},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "main", Ready: ready, State: state, RestartCount: map[bool]int32{true: 0, false: 3}[ready]},
			}},
		})
	}
	f.objs.ReplicaSets = append(f.objs.ReplicaSets, rs)
	return &f.objs.ReplicaSets[len(f.objs.ReplicaSets)-1]
}

// addRun adds an AnalysisRun of owner at rev; jobs name metric Jobs.
func (f *fixture) addRun(owner metav1.Object, name string, rev int, phase v1alpha1.AnalysisPhase, age time.Duration, ok, failed, inconclusive, errs int32, jobs ...string) {
	run := v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "jesse-test", UID: types.UID(name), CreationTimestamp: ago(age),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(rev)},
			OwnerReferences: []metav1.OwnerReference{{UID: owner.GetUID()}},
		},
		Status: v1alpha1.AnalysisRunStatus{Phase: phase, MetricResults: []v1alpha1.MetricResult{
			{Name: "success-rate", Successful: ok, Failed: failed, Inconclusive: inconclusive, Error: errs},
		}},
	}
	for i, j := range jobs {
		run.Status.MetricResults[0].Measurements = append(run.Status.MetricResults[0].Measurements, v1alpha1.Measurement{
			Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: ptr.To(ago(age - time.Duration(i)*time.Minute)),
			Metadata: map[string]string{"job-name": j, "job-namespace": "jesse-test"},
		})
	}
	if len(jobs) > 0 && phase == v1alpha1.AnalysisPhaseRunning {
		last := &run.Status.MetricResults[0].Measurements[len(jobs)-1]
		last.Phase = v1alpha1.AnalysisPhaseRunning
	}
	f.objs.AnalysisRuns = append(f.objs.AnalysisRuns, run)
}

var (
	imageBlue   = "argoproj/rollouts-demo:blue"
	imageGreen  = "argoproj/rollouts-demo:green"
	imageYellow = "argoproj/rollouts-demo:yellow"
	demoSteps   = []v1alpha1.CanaryStep{setWeight(20), pause(0), setWeight(40), pause(10), setWeight(60), pause(10), setWeight(80), pause(10)}
)

// canaryPaused is seed 03 waiting at its indefinite pause: one canary pod
// of five, an older revision scaled down.
func canaryPaused() fixture {
	f := fixture{ro: canaryRollout("canary-demo", demoSteps...)}
	ro := f.ro
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.StableRS, ro.Status.CurrentPodHash = "877894d5b", "65fb5ffc84"
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: "CanaryPauseStep"}}
	ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas = 5, 1, 5, 5
	f.addRS(ro, "65fb5ffc84", 3, imageGreen, 1, 2*time.Minute)
	f.addRS(ro, "877894d5b", 2, imageBlue, 4, 50*time.Minute)
	f.addRS(ro, "859c99b45c", 1, imageYellow, 0, week)
	return f
}

// canaryRouted is an NGINX-routed canary at its second setWeight, the
// router at 40%, with a pod failing to pull.
func canaryRouted() fixture {
	f := fixture{ro: canaryRollout("nginx-demo", demoSteps...)}
	ro := f.ro
	ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "nginx-demo-canary", "nginx-demo-stable"
	ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "nginx-demo"}}
	ro.Status.CurrentStepIndex = ptr.To[int32](3)
	ro.Status.StableRS, ro.Status.CurrentPodHash = "6cbccd9f99", "74b948fccb"
	ro.Status.Phase = v1alpha1.RolloutPhaseProgressing
	ro.Status.Message = "more replicas need to be updated"
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 40}, Stable: v1alpha1.WeightDestination{Weight: 60}}
	ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas = 7, 2, 6, 6
	f.addRS(ro, "74b948fccb", 2, imageGreen, 2, 30*time.Second,
		corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}})
	f.addRS(ro, "6cbccd9f99", 1, imageBlue, 5, 3*time.Hour)
	return f
}

// blueGreenPaused waits for promotion with the preview up, the active
// (stable) version serving, and an old revision scaling down later.
func blueGreenPaused() fixture {
	ro := canaryRollout("bluegreen-demo")
	ro.Spec.Replicas = ptr.To[int32](3)
	ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview"}}
	ro.Status.StableRS, ro.Status.CurrentPodHash = "6cbccd9f99", "74b948fccb"
	ro.Status.BlueGreen = v1alpha1.BlueGreenStatus{ActiveSelector: "6cbccd9f99", PreviewSelector: "74b948fccb"}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "BlueGreenPause"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: "BlueGreenPause"}}
	ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas = 6, 3, 6, 3
	f := fixture{ro: ro}
	f.addRS(ro, "74b948fccb", 11, imageGreen, 3, week)
	f.addRS(ro, "6cbccd9f99", 10, imageBlue, 3, week)
	old := f.addRS(ro, "746d5fddf6", 8, imageYellow, 1, week)
	old.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(25 * time.Second).Format(time.RFC3339)
	return f
}

// canaryAborted was aborted at its first step: the canary is scaled
// down, the weight is back to 0 and the phase is Degraded.
func canaryAborted() fixture {
	f := canaryPaused()
	ro := f.ro
	ro.Status.Abort = true
	ro.Status.PauseConditions = nil
	ro.Status.CurrentStepIndex = ptr.To[int32](0)
	ro.Status.Phase = v1alpha1.RolloutPhaseDegraded
	ro.Status.Message = "RolloutAborted: Rollout aborted update to revision 3"
	ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.RolloutAbortedReason, Message: "Rollout aborted update to revision 3"}}
	ro.Status.UpdatedReplicas, ro.Status.AvailableReplicas, ro.Status.ReadyReplicas, ro.Status.Replicas = 0, 5, 5, 5
	canary := &f.objs.ReplicaSets[0]
	canary.Spec.Replicas = ptr.To[int32](0)
	canary.Status = appsv1.ReplicaSetStatus{ObservedGeneration: 2}
	f.objs.Pods = f.objs.Pods[1:]
	f.objs.ReplicaSets[1].Spec.Replicas = ptr.To[int32](5)
	f.objs.ReplicaSets[1].Status.Replicas, f.objs.ReplicaSets[1].Status.AvailableReplicas = 5, 5
	return f
}

// canaryAnalysis has a background run going, an earlier step run that
// passed, a Job-based run with two Jobs, and a failed run of the
// previous revision.
func canaryAnalysis() fixture {
	f := canaryPaused()
	ro := f.ro
	f.addRun(ro, "canary-demo-65fb5ffc84-3-1", 3, v1alpha1.AnalysisPhaseSuccessful, time.Minute, 1, 0, 0, 0)
	f.addRun(ro, "canary-demo-65fb5ffc84-3", 3, v1alpha1.AnalysisPhaseRunning, 2*time.Minute, 3, 0, 1, 1)
	f.addRun(ro, "canary-demo-65fb5ffc84-3-job", 3, v1alpha1.AnalysisPhaseRunning, 90*time.Second, 1, 0, 0, 0, "canary-demo-job-1", "canary-demo-job-2")
	f.addRun(ro, "canary-demo-877894d5b-2", 2, v1alpha1.AnalysisPhaseFailed, 50*time.Minute, 2, 3, 0, 0)
	return f
}

// canaryExperiment runs an experiment at step 1 with a baseline and a
// canary template and an analysis of the two.
func canaryExperiment() fixture {
	f := canaryPaused()
	ro := f.ro
	ro.Status.PauseConditions = nil
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	exp := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "canary-demo-65fb5ffc84-3-1", Namespace: "jesse-test", UID: "exp", CreationTimestamp: ago(time.Minute),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "3"},
			OwnerReferences: []metav1.OwnerReference{{UID: ro.UID}},
		},
		Status: v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseRunning},
	}
	f.objs.Experiments = append(f.objs.Experiments, *exp)
	for _, tmpl := range []struct{ name, image string }{{"baseline", imageBlue}, {"canary", imageGreen}} {
		rs := f.addRS(exp, tmpl.name, 0, tmpl.image, 1, time.Minute)
		rs.Annotations = map[string]string{v1alpha1.ExperimentTemplateNameAnnotationKey: tmpl.name}
	}
	f.addRun(exp, "canary-demo-65fb5ffc84-3-1-compare", 0, v1alpha1.AnalysisPhasePending, 30*time.Second, 0, 0, 0, 0)
	return f
}

func TestRolloutGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fixture
		color bool
	}{
		{"canary-paused", canaryPaused(), false},
		{"canary-paused-color", canaryPaused(), true},
		{"canary-nginx", canaryRouted(), false},
		{"bluegreen-paused", blueGreenPaused(), false},
		{"bluegreen-paused-color", blueGreenPaused(), true},
		{"canary-aborted", canaryAborted(), false},
		{"canary-analysis", canaryAnalysis(), false},
		{"canary-analysis-color", canaryAnalysis(), true},
		{"canary-experiment", canaryExperiment(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := (Printer{Color: tc.color, Now: now}).Rollout(&out, NewRollout(tc.f.ro, tc.f.objs)); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, out.Bytes())
		})
	}
}

func TestExperimentGolden(t *testing.T) {
	f := canaryExperiment()
	var out bytes.Buffer
	if err := (Printer{Now: now}).Experiment(&out, NewExperiment(&f.objs.Experiments[0], f.objs)); err != nil {
		t.Fatal(err)
	}
	golden(t, "experiment", out.Bytes())
}

// golden compares got with testdata/<name>.golden, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestColorWanted: --no-color and TERM=dumb each turn colour off.
func TestColorWanted(t *testing.T) {
	for _, tc := range []struct {
		term    string
		noColor bool
		want    bool
	}{
		{"xterm-256color", false, true},
		{"xterm-256color", true, false},
		{"dumb", false, false},
		{"", false, true},
	} {
		t.Setenv("TERM", tc.term)
		if got := ColorWanted(tc.noColor); got != tc.want {
			t.Errorf("TERM=%q --no-color=%v: colour %v, want %v", tc.term, tc.noColor, got, tc.want)
		}
	}
}

// TestRolloutJSON: -o json carries the same derived fields as the tree.
func TestRolloutJSON(t *testing.T) {
	f := canaryRouted()
	data, err := json.Marshal(NewRollout(f.ro, f.objs))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"status":"Progressing"`, `"step":"3/8"`, `"setWeight":"40"`, `"actualWeight":"40"`, `"status":"ImagePullBackOff"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
}
