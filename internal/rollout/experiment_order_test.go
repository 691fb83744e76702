package rollout_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// experimentWorld is web at green over a blue stable, at its experiment
// step (index 1), each ReplicaSet at the 50% step's size.
func experimentWorld(t *testing.T, status func(*v1alpha1.RolloutStatus), objs ...*v1alpha1.Experiment) *world {
	t.Helper()
	step := v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{
		{Name: "baseline", SpecRef: v1alpha1.StableSpecRef}, {Name: "canary", SpecRef: v1alpha1.CanarySpecRef}}}}
	ro := newRollout(greenImage, 2, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50), step, pause()}}})
	ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
	if status != nil {
		status(&ro.Status)
	}
	world := newWorld(t, ro, replicaSet(ro, blueImage, 1, 1, 1), replicaSet(ro, greenImage, 2, 1, 1))
	for _, ex := range objs {
		if err := world.raw.Create(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
	return world
}

// A name taken by an object not the Rollout's moves to Argo Rollouts'
// next name, and the status names the Experiment created, after it
// (ExperimentCreated goes to the queued recorder, which this test omits).
func TestExperimentNameCollision(t *testing.T) {
	base := "web-" + green + "-2-1"
	foreign := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: base}}
	w := experimentWorld(t, nil, foreign)
	ws := w.reconcile()
	checkRules(t, ws, []rule{
		{match{verb: "Create", kind: "Experiment", name: base + "-1"}, statusWrite(`"currentExperiment":"` + base + `-1"`)},
	})
	var ex v1alpha1.Experiment
	if err := w.raw.Get(context.Background(), types.NamespacedName{Namespace: orderTestNS, Name: base + "-1"}, &ex); err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(&ex); ref == nil || ref.UID != "web-uid" {
		t.Fatalf("owner %+v", ref)
	}
	if got := w.rolloutNow().Status.Canary.CurrentExperiment; got != base+"-1" {
		t.Fatalf("status names %q", got)
	}
	// The next pass finds it by the status and creates nothing.
	for _, wr := range w.reconcile() {
		if wr.kind == "Experiment" && wr.verb == "Create" {
			t.Fatalf("created again: %s", wr)
		}
	}
}

// An abort terminates the running Experiment with the CLI's patch and
// marks it as the aborted attempt's, before the status that records it.
func TestExperimentTerminatedOnAbort(t *testing.T) {
	base := "web-" + green + "-2-1"
	ours := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: base,
		Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: green},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: orderTestName, UID: "web-uid", Controller: new(true)}}},
		Status: v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseRunning}}
	w := experimentWorld(t, func(st *v1alpha1.RolloutStatus) { st.Canary.CurrentExperiment = base }, ours)
	w.patchRolloutStatus(`{"status":{"abort":true}}`)
	ws := w.reconcile()
	terminate := match{verb: "Patch", kind: "Experiment", name: base, contains: []string{`{"spec":{"terminate":true}}`}}
	checkRules(t, ws, []rule{{terminate, statusWrite(`"abortedAt"`)}})
	w.now = w.now.Add(2e9)
	ws = w.reconcile()
	marked := false
	for _, wr := range ws {
		marked = marked || (wr.kind == "Experiment" && strings.Contains(wr.desc, "superseded-by-abort"))
	}
	if !marked {
		t.Fatalf("the aborted attempt's Experiment is not marked:\n%s", list(ws))
	}
}
