package tree

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
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

// canaryExperiment is at its experiment step (step 1): the Experiment
// <rollout>-<hash>-<revision>-<step> runs a baseline and a canary template
// with a Job-based analysis of the two, and the rollout's background
// analysis runs beside it in the same revision.
func canaryExperiment() fixture {
	f := canaryPaused()
	ro := f.ro
	ro.Status.PauseConditions = nil
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	ro.Status.Canary.CurrentExperiment = "canary-demo-65fb5ffc84-3-1"
	exp := f.addExperiment(ro, "canary-demo-65fb5ffc84-3-1", v1alpha1.AnalysisPhaseRunning, 100*time.Second)
	exp.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "3"}
	f.addTemplateRS(exp, "baseline", "5c9b8d6f7d", imageBlue, 1, 100*time.Second)
	f.addTemplateRS(exp, "canary", "65fb5ffc84", imageGreen, 1, 100*time.Second)
	// Its Jobs start a minute apart.
	f.addRun(exp, "canary-demo-65fb5ffc84-3-1-compare", 0, v1alpha1.AnalysisPhaseRunning, 80*time.Second, 1, 0, 0, 0,
		"canary-demo-65fb5ffc84-3-1-compare-1", "canary-demo-65fb5ffc84-3-1-compare-2")
	f.addRun(ro, "canary-demo-65fb5ffc84-3", 3, v1alpha1.AnalysisPhaseRunning, 2*time.Minute, 2, 0, 0, 0)
	return f
}

// judgeMetric is a run's metric whose provider is the canary judge.
func judgeMetric(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{judge.PluginKey: json.RawMessage(`{"metrics":[]}`)}}}
}

// judgement is a measurement whose value is v as the judge writes it.
func judgement(t *testing.T, phase v1alpha1.AnalysisPhase, at time.Duration, v judge.Value) v1alpha1.Measurement {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return v1alpha1.Measurement{Phase: phase, Value: string(b), StartedAt: ptr.To(ago(at + time.Second)), FinishedAt: ptr.To(ago(at))}
}

// failedJudgement is the judgement of a canary 20% slower: its latency
// High (critical), its error ratio (mostly 0, so judged on the mean)
// passing, its throughput without enough baseline samples.
var failedJudgement = judge.Value{Judgement: judge.Judgement{Score: 33.33, Outcome: judge.OutcomeFail,
	Reason: "critical metric p95-latency did not pass; score 33", Verdicts: []judge.Verdict{
		{Metric: "p95-latency", Class: judge.High, BaselineMedian: 0.1043, CanaryMedian: 0.1251, Effect: 0.1995, EffectLow: 0.1712, EffectHigh: 0.2288,
			EffectOf: judge.EffectOfMedian, Confidence: 0.95, PValue: 3.1e-12, BaselineN: 60, CanaryN: 58, Critical: true,
			Reason: "canary median 0.1251 vs baseline 0.1043: higher than the +10.0% tolerated"},
		{Metric: "error-ratio", Class: judge.Pass, Effect: 0.08, EffectLow: -0.4, EffectHigh: 0.61, EffectOf: judge.EffectOfMean, Confidence: 0.95,
			PValue: 0.71, BaselineN: 60, CanaryN: 60},
		{Metric: "rps", Class: judge.NoData, BaselineN: 4, CanaryN: 60, Reason: "4 baseline and 60 canary samples, fewer than the 10 per side needed"},
	}}}

// canaryJudged is at its experiment step, whose Experiment runs the
// canary judge against a baseline: its latest judgement failed (an
// earlier one passed; a later measurement erred, with no value). The
// rollout's background run has a threshold metric and a judge metric
// whose passing verdicts were left out to fit the measurement.
func canaryJudged(t *testing.T) fixture {
	f := canaryExperiment()
	run := &f.objs.AnalysisRuns[0]
	run.Name, run.UID = "canary-demo-65fb5ffc84-3-1-judge", "canary-demo-65fb5ffc84-3-1-judge"
	run.Spec.Metrics = []v1alpha1.Metric{judgeMetric("judge")}
	passed := judge.Value{Judgement: judge.Judgement{Score: 100, Outcome: judge.OutcomePass}}
	run.Status.Phase = v1alpha1.AnalysisPhaseFailed
	run.Status.MetricResults = []v1alpha1.MetricResult{{Name: "judge", Phase: v1alpha1.AnalysisPhaseFailed, Successful: 1, Failed: 1, Error: 1, Measurements: []v1alpha1.Measurement{
		judgement(t, v1alpha1.AnalysisPhaseSuccessful, 70*time.Second, passed),
		judgement(t, v1alpha1.AnalysisPhaseFailed, 40*time.Second, failedJudgement),
		{Phase: v1alpha1.AnalysisPhaseError, Message: "prometheus: connection refused", StartedAt: ptr.To(ago(10 * time.Second)), FinishedAt: ptr.To(ago(10 * time.Second))},
	}}}
	f.objs.Experiments[0].Status.Phase = v1alpha1.AnalysisPhaseFailed

	bg := &f.objs.AnalysisRuns[1]
	bg.Spec.Metrics = []v1alpha1.Metric{{Name: "success-rate"}, judgeMetric("judge-background")}
	shrunk := judge.Value{Judgement: judge.Judgement{Score: 100, Outcome: judge.OutcomePass}}
	bg.Status.MetricResults[0].Measurements = []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: `{"outcome":"Pass","score":1}`}}
	bg.Status.MetricResults = append(bg.Status.MetricResults, v1alpha1.MetricResult{Name: "judge-background", Successful: 1,
		Measurements: []v1alpha1.Measurement{judgement(t, v1alpha1.AnalysisPhaseSuccessful, 30*time.Second, shrunk)}})
	return f
}

// addExperiment adds an Experiment owned by owner (nil: standalone).
func (f *fixture) addExperiment(owner metav1.Object, name string, phase v1alpha1.AnalysisPhase, age time.Duration) *v1alpha1.Experiment {
	exp := v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "jesse-test", UID: types.UID(name), CreationTimestamp: ago(age)},
		Spec:       v1alpha1.ExperimentSpec{Duration: "30s"},
		Status:     v1alpha1.ExperimentStatus{Phase: phase},
	}
	if owner != nil {
		exp.OwnerReferences = []metav1.OwnerReference{{UID: owner.GetUID(), Name: owner.GetName(), Controller: ptr.To(true)}}
	}
	f.objs.Experiments = append(f.objs.Experiments, exp)
	return &f.objs.Experiments[len(f.objs.Experiments)-1]
}

// addTemplateRS adds the ReplicaSet of an experiment template as the
// controller creates it: named <experiment>-<template>, carrying the
// experiment and template names as annotations and no revision.
func (f *fixture) addTemplateRS(exp *v1alpha1.Experiment, template, hash, image string, replicas int32, age time.Duration, podStates ...corev1.ContainerState) *appsv1.ReplicaSet {
	rs := f.addRS(exp, template, 0, image, replicas, age, podStates...)
	rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	rs.Annotations = map[string]string{
		v1alpha1.ExperimentNameAnnotationKey:         exp.Name,
		v1alpha1.ExperimentTemplateNameAnnotationKey: template,
	}
	exp.Spec.Templates = append(exp.Spec.Templates, v1alpha1.TemplateSpec{Name: template, Replicas: ptr.To(replicas)})
	exp.Status.TemplateStatuses = append(exp.Status.TemplateStatuses, v1alpha1.TemplateStatus{
		Name: template, PodTemplateHash: hash, Replicas: rs.Status.Replicas, UpdatedReplicas: rs.Status.Replicas,
		ReadyReplicas: rs.Status.ReadyReplicas, AvailableReplicas: rs.Status.AvailableReplicas,
	})
	return rs
}

// scaleDown scales a template's ReplicaSet to zero and removes its pods,
// as the end of the scale-down delay does.
func (f *fixture) scaleDown(rs *appsv1.ReplicaSet) {
	rs.Spec.Replicas = ptr.To[int32](0)
	rs.Status = appsv1.ReplicaSetStatus{ObservedGeneration: rs.Generation}
	f.objs.Pods = slices.DeleteFunc(f.objs.Pods, func(p corev1.Pod) bool { return ownedBy(p.OwnerReferences, rs.UID) })
}

// Standalone experiments: two templates (baseline on the stable image,
// canary on the new one), duration 30s, an analysis comparing them.
const demoExperiment = "demo-experiment"

// experimentRunning: every template available for 40s, the analysis
// measuring.
func experimentRunning() (*v1alpha1.Experiment, Objects) {
	var f fixture
	exp := f.addExperiment(nil, demoExperiment, v1alpha1.AnalysisPhaseRunning, 70*time.Second)
	exp.Status.AvailableAt = ptr.To(ago(40 * time.Second))
	for _, tmpl := range []struct{ name, hash, image string }{{"baseline", "6f8c5b4d9", imageBlue}, {"canary", "7d5b6c8f4", imageGreen}} {
		f.addTemplateRS(exp, tmpl.name, tmpl.hash, tmpl.image, 2, 70*time.Second)
		exp.Status.TemplateStatuses[len(exp.Status.TemplateStatuses)-1].Status = v1alpha1.TemplateStatusRunning
	}
	f.addRun(exp, demoExperiment+"-compare", 0, v1alpha1.AnalysisPhaseRunning, 40*time.Second, 2, 0, 0, 0)
	exp.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: demoExperiment + "-compare", Phase: v1alpha1.AnalysisPhaseRunning}}
	return exp, f.objs
}

// experimentSuccessful: the duration passed, the analysis passed, and the
// scale-down delay is over: the ReplicaSets are at zero, their deadline
// annotation left behind.
func experimentSuccessful() (*v1alpha1.Experiment, Objects) {
	_, objs := experimentRunning()
	f := fixture{objs: objs}
	exp := &f.objs.Experiments[0]
	exp.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
	for i := range f.objs.ReplicaSets {
		rs := &f.objs.ReplicaSets[i]
		rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(-5 * time.Second).Format(time.RFC3339)
		f.scaleDown(rs)
		exp.Status.TemplateStatuses[i].Status = v1alpha1.TemplateStatusSuccessful
		exp.Status.TemplateStatuses[i].Replicas, exp.Status.TemplateStatuses[i].AvailableReplicas = 0, 0
	}
	run := &f.objs.AnalysisRuns[0]
	run.Status.Phase, run.Status.MetricResults[0].Successful = v1alpha1.AnalysisPhaseSuccessful, 3
	exp.Status.AnalysisRuns[0].Phase = v1alpha1.AnalysisPhaseSuccessful
	return exp, f.objs
}

// experimentFailed: the analysis failed before the duration was up; the
// experiment carries the run's message and its ReplicaSets wait out the
// scale-down delay with their pods still up.
func experimentFailed() (*v1alpha1.Experiment, Objects) {
	_, objs := experimentRunning()
	f := fixture{objs: objs}
	exp := &f.objs.Experiments[0]
	msg := `Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)`
	exp.Status.Phase, exp.Status.Message = v1alpha1.AnalysisPhaseFailed, msg
	for i := range f.objs.ReplicaSets {
		f.objs.ReplicaSets[i].Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(25 * time.Second).Format(time.RFC3339)
		exp.Status.TemplateStatuses[i].Status = v1alpha1.TemplateStatusSuccessful
	}
	run := &f.objs.AnalysisRuns[0]
	run.Status.Phase, run.Status.Message = v1alpha1.AnalysisPhaseFailed, msg
	run.Status.MetricResults[0].Successful, run.Status.MetricResults[0].Failed = 1, 2
	exp.Status.AnalysisRuns[0].Phase, exp.Status.AnalysisRuns[0].Message = v1alpha1.AnalysisPhaseFailed, msg
	return exp, f.objs
}

// experimentPending: the canary template's pod cannot pull its image, so
// the templates are not all available and the analysis has not started.
func experimentPending() (*v1alpha1.Experiment, Objects) {
	var f fixture
	exp := f.addExperiment(nil, demoExperiment, v1alpha1.AnalysisPhasePending, 20*time.Second)
	f.addTemplateRS(exp, "baseline", "6f8c5b4d9", imageBlue, 1, 20*time.Second)
	f.addTemplateRS(exp, "canary", "7d5b6c8f4", "argoproj/rollouts-demo:does-not-exist", 1, 20*time.Second,
		corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}})
	exp.Status.TemplateStatuses[0].Status, exp.Status.TemplateStatuses[1].Status = v1alpha1.TemplateStatusRunning, v1alpha1.TemplateStatusProgressing
	return exp, f.objs
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
		{"canary-judge", canaryJudged(t), false},
		{"canary-judge-color", canaryJudged(t), true},
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

// TestExperimentGolden: `get experiment` of a standalone experiment in
// each phase, and of the experiment step of canaryExperiment.
func TestExperimentGolden(t *testing.T) {
	step := canaryExperiment()
	judged := canaryJudged(t)
	for _, tc := range []struct {
		name  string
		exp   *v1alpha1.Experiment
		objs  Objects
		color bool
	}{
		{"experiment-step", &step.objs.Experiments[0], step.objs, false},
		{"experiment-judge", &judged.objs.Experiments[0], judged.objs, false},
	} {
		t.Run(tc.name, func(t *testing.T) { experimentGolden(t, tc.name, tc.exp, tc.objs, tc.color) })
	}
	for _, tc := range []struct {
		name  string
		build func() (*v1alpha1.Experiment, Objects)
		color bool
	}{
		{"experiment-pending", experimentPending, false},
		{"experiment-running", experimentRunning, false},
		{"experiment-running-color", experimentRunning, true},
		{"experiment-successful", experimentSuccessful, false},
		{"experiment-failed", experimentFailed, false},
		{"experiment-failed-color", experimentFailed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp, objs := tc.build()
			experimentGolden(t, tc.name, exp, objs, tc.color)
		})
	}
}

func experimentGolden(t *testing.T, name string, exp *v1alpha1.Experiment, objs Objects, color bool) {
	t.Helper()
	var out bytes.Buffer
	if err := (Printer{Color: color, Now: now}).Experiment(&out, NewExperiment(exp, objs)); err != nil {
		t.Fatal(err)
	}
	golden(t, name, out.Bytes())
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

// TestJudgementsJSON: -o json carries each judge metric's latest
// judgement, with its verdicts and the measurement's phase and time.
func TestJudgementsJSON(t *testing.T) {
	f := canaryJudged(t)
	v := NewExperiment(&f.objs.Experiments[0], f.objs)
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"judgements":[{"metric":"judge","phase":"Failed","measuredAt":"2026-03-01T11:59:20Z","judgement":{"score":33.33,"outcome":"Fail",`,
		`{"metric":"p95-latency","class":"High","baselineMedian":0.1043,"canaryMedian":0.1251,"effect":0.1995,"effectLow":0.1712,"effectHigh":0.2288,"effectOf":"median"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
	if got := Judgements(&v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{judgeMetric("judge")}}}); got != nil {
		t.Errorf("a judge metric with no results: %+v, want no judgement", got)
	}
}
