package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// pullRun is an AnalysisRun whose one Job metric runs IMAGE. On the local
// cluster a registry host ending in .invalid fails to pull (ErrImagePull,
// then ImagePullBackOff) and a malformed reference is InvalidImageName
// (hack/localcluster/stages.yaml).
const pullRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: NAME
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: check
                image: "IMAGE"
                command: [sh, -c, "exit 0"]
`

// TestJobMetricImagePullFailureIsInconclusive: a Job metric whose pod
// cannot get its image is measured Inconclusive — naming the pod, the
// container, the reason and the image — instead of Running forever, and
// its Job is deleted.
func TestJobMetricImagePullFailureIsInconclusive(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scoped(t)
	cases := map[string]struct{ image, reason string }{
		"unreachable": {"registry.invalid/metric:v1", "Err"}, // ErrImagePull or ImagePullBackOff
		"malformed":   {"registry.example/Metric:v1", "InvalidImageName"},
	}
	for name, c := range cases {
		apply(t, ns, strings.NewReplacer("NAME", name, "IMAGE", c.image).Replace(pullRun))
	}
	for name, c := range cases {
		run := waitForPhase(t, ns, name, v1alpha1.AnalysisPhaseInconclusive, 60*time.Second)
		r := run.Status.MetricResults
		msg := ""
		if len(r) == 1 && len(r[0].Measurements) == 1 {
			msg = r[0].Measurements[0].Message
		}
		want := []string{"pod " + string(run.UID) + ".smoke.1-", `container "check"`, fmt.Sprintf("for image %q", c.image)}
		ok := len(r) == 1 && r[0].Inconclusive == 1 && strings.Contains(msg, c.reason)
		for _, w := range want {
			ok = ok && strings.Contains(msg, w)
		}
		if !ok || !strings.Contains(run.Status.Message, "smoke") {
			t.Errorf("%s: want one Inconclusive measurement naming the pod, container, reason %s and image: %s", name, c.reason, describeRun(run))
		}
		framework.Eventually(t, 30*time.Second, "the Job of "+name+" deleted", func() (bool, string) {
			var jobs batchv1.JobList
			if err := e.Client.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{"analysisrun.argoproj.io/uid": string(run.UID)}); err != nil {
				return false, err.Error()
			}
			for _, j := range jobs.Items {
				if j.DeletionTimestamp == nil {
					return false, "Job " + j.Name + " still there"
				}
			}
			return true, ""
		})
	}
}

// TestAnalysisStepWithUnpullableImagePausesTheRollout: an analysis step
// whose Job cannot pull its image pauses the rollout
// (InconclusiveAnalysisRun), as Argo Rollouts does, instead of holding the
// step forever.
func TestAnalysisStepWithUnpullableImagePausesTheRollout(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, strings.NewReplacer("name: smoke-STATE", "name: smoke-pull", "STATE", "ready", "image: busybox", "image: registry.invalid/metric:v1").Replace(smokeTemplate))
	ns = startAnalysedRolloutIn(t, ns, "pull", "ready")
	framework.Eventually(t, 90*time.Second, "paused by the inconclusive step run", func() (bool, string) {
		ro := rollout(t, ns)
		paused := false
		for _, c := range ro.Status.PauseConditions {
			paused = paused || c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis
		}
		step := ro.Status.Canary.CurrentStepAnalysisRunStatus
		return paused && ro.Status.Phase == v1alpha1.RolloutPhasePaused && step != nil && step.Status == v1alpha1.AnalysisPhaseInconclusive &&
			strings.Contains(step.Message, "registry.invalid/metric:v1"), describeRollout(t, ns)
	})
}
