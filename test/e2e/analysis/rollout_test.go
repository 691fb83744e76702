package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const smokeTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke-STATE
spec:
  args:
  - name: hash
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {test.aviary.dev/state: STATE}
              labels: {checked-hash: "{{args.hash}}"}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "exit 0"]
`

const analysedRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      analysis:
        startingStep: 1
        templates: [{templateName: smoke-BACKGROUND}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
      steps:
      - setWeight: 50
      - analysis:
          templates: [{templateName: smoke-STEP}]
          args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
      - pause: {duration: 2}
`

// startAnalysedRollout applies the job templates and a rollout whose step
// analysis uses smoke-<step> and background analysis smoke-<background>
// (a held background opts out of waiting for evidence before promotion),
// waits for the first version and sets a new image.
func startAnalysedRollout(t *testing.T, step, background string) string {
	t.Helper()
	ns, _ := scoped(t)
	return startAnalysedRolloutIn(t, ns, step, background)
}

// startAnalysedRolloutIn is startAnalysedRollout in ns, whose controller
// the caller started.
func startAnalysedRolloutIn(t *testing.T, ns, step, background string) string {
	t.Helper()
	apply(t, ns, strings.ReplaceAll(smokeTemplate, "STATE", "ready")+"---\n"+strings.ReplaceAll(smokeTemplate, "STATE", "fail")+"---\n"+
		strings.ReplaceAll(smokeTemplate, "STATE", "hold"))
	manifest := strings.NewReplacer("STEP", step, "BACKGROUND", background).Replace(analysedRollout)
	if background == "hold" {
		// A background Job held running never measures: the tests of a
		// run the completed update must terminate opt out of waiting for
		// its evidence (internal/plan/evidence), as Argo Rollouts would
		// not wait.
		manifest = strings.Replace(manifest, "  name: web\n", "  name: web\n  annotations: {rollouts.aviary.dev/promotion-evidence: \"0\"}\n", 1)
	}
	apply(t, ns, manifest)
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(ro.Status.Phase) + " " + ro.Status.Message
	})
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	return ns
}

func rollout(t *testing.T, ns string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "web"), &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

func runs(t *testing.T, ns string) []v1alpha1.AnalysisRun {
	t.Helper()
	var list v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestAnalysisStepPassesAndBackgroundRunIsTerminated: the step's Job
// succeeds, so the step completes; the background run (its Job held
// running) started at step 1, not before, and is terminated when the
// update completes.
func TestAnalysisStepPassesAndBackgroundRunIsTerminated(t *testing.T) {
	ns := startAnalysedRollout(t, "ready", "hold")
	framework.Eventually(t, 90*time.Second, "the update completes", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) &&
			ro.Spec.Template.Spec.Containers[0].Image == "argoproj/rollouts-demo:green" && *ro.Status.CurrentStepIndex == 3, describeRollout(t, ns)
	})
	ro := rollout(t, ns)
	hash := ro.Status.CurrentPodHash
	step := getRun(t, ns, fmt.Sprintf("web-%s-2-1", hash))
	if step.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || step.Labels["rollout-type"] != "Step" || step.Labels["step-index"] != "1" ||
		step.Annotations["rollout.argoproj.io/revision"] != "2" {
		t.Errorf("step run: %s labels %v", describeRun(step), step.Labels)
	}
	framework.Eventually(t, 30*time.Second, "the background run terminated", func() (bool, string) {
		bg := getRun(t, ns, fmt.Sprintf("web-%s-2", hash))
		return bg.Spec.Terminate && bg.Status.Phase.Completed(), describeRun(bg)
	})
}

// TestFailedAnalysisStepAborts: the step's Job fails, so the rollout
// aborts by itself with the run's message, back on the stable version.
func TestFailedAnalysisStepAborts(t *testing.T) {
	ns := startAnalysedRollout(t, "fail", "hold")
	framework.Eventually(t, 90*time.Second, "the rollout aborted with the run's message", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort &&
			strings.Contains(ro.Status.Message, "RolloutAborted: Rollout aborted update to revision 2: ") &&
			strings.Contains(ro.Status.Message, "smoke"), describeRollout(t, ns)
	})
	framework.Eventually(t, 60*time.Second, "the canary scaled down and the background run terminated", func() (bool, string) {
		var list appsv1.ReplicaSetList
		_ = framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns))
		ro := rollout(t, ns)
		for _, rs := range list.Items {
			if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == ro.Status.CurrentPodHash && *rs.Spec.Replicas != 0 {
				return false, "canary still has replicas"
			}
		}
		for _, run := range runs(t, ns) {
			if !run.Status.Phase.Completed() {
				return false, "run still going: " + run.Name
			}
		}
		return true, ""
	})
}

// TestFailedBackgroundAnalysisAborts: the background run fails while the
// step run is held running; the rollout aborts.
func TestFailedBackgroundAnalysisAborts(t *testing.T) {
	ns := startAnalysedRollout(t, "hold", "fail")
	framework.Eventually(t, 90*time.Second, "the rollout aborted by the background run", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort, describeRollout(t, ns)
	})
}

func describeRollout(t *testing.T, ns string) string {
	ro := rollout(t, ns)
	idx := "nil"
	if ro.Status.CurrentStepIndex != nil {
		idx = fmt.Sprint(*ro.Status.CurrentStepIndex)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s %q step %s stable %s current %s; runs:", ro.Status.Phase, ro.Status.Message, idx, ro.Status.StableRS, ro.Status.CurrentPodHash)
	for _, run := range runs(t, ns) {
		fmt.Fprintf(&b, " %s(%s terminate=%v)", run.Name, run.Status.Phase, run.Spec.Terminate)
	}
	return b.String()
}
