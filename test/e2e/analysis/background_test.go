package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestBackgroundRunWithUnfinishedJobEndsWhenTheUpdateCompletes: the
// background run's Job never finishes (its pod is held running). When the
// update completes the run must end — terminated, in a terminal phase the
// user can read (Successful, "Run Terminated", as Argo Rollouts ends a
// terminated Job metric), with the measurement "Metric Terminated" — and its
// Job and pod must be deleted, not left running.
func TestBackgroundRunWithUnfinishedJobEndsWhenTheUpdateCompletes(t *testing.T) {
	e := framework.Get(t)
	ns := startAnalysedRollout(t, "ready", "hold")
	var bgName string
	framework.Eventually(t, 90*time.Second, "the background run's Job running, then the update complete", func() (bool, string) {
		ro := rollout(t, ns)
		if s := ro.Status.Canary.CurrentBackgroundAnalysisRunStatus; s != nil {
			bgName = s.Name
		}
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) && *ro.Status.CurrentStepIndex == 3, describeRollout(t, ns)
	})
	if bgName == "" {
		bgName = fmt.Sprintf("web-%s-2", rollout(t, ns).Status.CurrentPodHash)
	}
	run := waitForPhase(t, ns, bgName, v1alpha1.AnalysisPhaseSuccessful, 30*time.Second)
	r := run.Status.MetricResults
	if !run.Spec.Terminate || run.Status.Message != "Run Terminated" || len(r) != 1 || len(r[0].Measurements) != 1 ||
		r[0].Measurements[0].Message != "Metric Terminated" || r[0].Successful != 0 {
		t.Errorf("the terminated background run: terminate %v, %s", run.Spec.Terminate, describeRun(run))
	}
	if s := rollout(t, ns).Status.Canary.CurrentBackgroundAnalysisRunStatus; s != nil {
		t.Errorf("status.canary.currentBackgroundAnalysisRunStatus still set after the update completed: %+v", s)
	}
	framework.Eventually(t, 30*time.Second, "the background run's Job and pod gone", func() (bool, string) {
		var jobs batchv1.JobList
		if err := e.Client.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{"analysisrun.argoproj.io/uid": string(run.UID)}); err != nil {
			return false, err.Error()
		}
		var left []string
		for _, j := range jobs.Items {
			left = append(left, "job "+j.Name)
		}
		var pods corev1.PodList
		if err := e.Client.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, p := range pods.Items {
			if strings.HasPrefix(p.Name, string(run.UID)) {
				left = append(left, "pod "+p.Name)
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
}
