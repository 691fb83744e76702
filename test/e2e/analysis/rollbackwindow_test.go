package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const windowRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  rollbackWindow: {revisions: 1}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates: [{templateName: smoke-ready}]
          args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
`

// TestRollbackWindow: with rollbackWindow.revisions 1, going back to a
// ReplicaSet older than that (one ReplicaSet lies between it and the
// stable) goes through the steps and the analysis again — with a new run:
// the run that passed for that ReplicaSet's earlier revision does not count
// — while going back to the ReplicaSet just before the stable is
// fast-tracked: SkipSteps "Rollback to active ReplicaSets within
// RollbackWindow", no analysis.
func TestRollbackWindow(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, strings.ReplaceAll(smokeTemplate, "STATE", "ready"))
	apply(t, ns, windowRollout)
	hashes := map[string]string{}
	complete := func(color string) {
		t.Helper()
		framework.Eventually(t, 90*time.Second, color+" complete", func() (bool, string) {
			ro := rollout(t, ns)
			ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
				ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) && ro.Spec.Template.Spec.Containers[0].Image == "argoproj/rollouts-demo:"+color
			if ok {
				hashes[color] = ro.Status.CurrentPodHash
			}
			return ok, describeRollout(t, ns)
		})
	}
	complete("blue")
	for _, color := range []string{"green", "yellow", "red"} {
		framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:"+color)
		complete(color)
	}
	stepRuns := func(hash string) []v1alpha1.AnalysisRun {
		var out []v1alpha1.AnalysisRun
		for _, run := range runs(t, ns) {
			if run.Labels[v1alpha1.RolloutTypeLabel] == v1alpha1.RolloutTypeStepLabel && run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
				out = append(out, run)
			}
		}
		return out
	}
	if r := stepRuns(hashes["green"]); len(r) != 1 || r[0].Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("want green's one passed step run (revision 2): %s", describeRollout(t, ns))
	}

	// Back to green: yellow lies between green and the stable red, so
	// outside the window of 1: the steps and a new analysis run.
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 90*time.Second, "a new step run for green's revision 5", func() (bool, string) {
		for _, run := range stepRuns(hashes["green"]) {
			if run.Annotations[v1alpha1.RevisionAnnotation] == "5" {
				return true, ""
			}
		}
		return false, describeRollout(t, ns)
	})
	complete("green")

	// Back to blue, just before the stable green: fast-tracked.
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:blue")
	complete("blue")
	if r := stepRuns(hashes["blue"]); len(r) != 0 {
		t.Errorf("the rollback within the window ran the analysis step: %s", describeRollout(t, ns))
	}
	var skips []string
	for _, e := range framework.RolloutEvents(t, ns) {
		if e.Reason == "SkipSteps" {
			skips = append(skips, e.Message)
		}
	}
	if len(skips) != 1 || skips[0] != "Rollback to active ReplicaSets within RollbackWindow" {
		t.Errorf("SkipSteps events %q, want one for the rollback within the window", skips)
	}
}
