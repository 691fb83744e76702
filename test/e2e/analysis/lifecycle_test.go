package analysis

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRetentionAndTTL: measurementRetention keeps the newest 3
// measurements while 8 are taken, and ttlStrategy deletes the run 8 s
// after it succeeds.
func TestRetentionAndTTL(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scoped(t)
	url := serve(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":1}`)) })
	apply(t, ns, `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: short-lived
spec:
  measurementRetention: [{metricName: ok, limit: 3}]
  ttlStrategy: {secondsAfterSuccess: 8}
  metrics:
  - name: ok
    interval: 500ms
    count: 8
    successCondition: result.ok == 1
    provider:
      web: {url: "`+url+`"}
`)
	run := waitForPhase(t, ns, "short-lived", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	if r := run.Status.MetricResults[0]; r.Count != 8 || r.Successful != 8 || len(r.Measurements) != 3 {
		t.Errorf("retention: %s", describeRun(run))
	}
	framework.Eventually(t, 30*time.Second, "the run deleted by its ttlStrategy", func() (bool, string) {
		err := e.Client.Get(context.Background(), framework.Key(ns, "short-lived"), &v1alpha1.AnalysisRun{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// TestMissingTemplateIsInvalidSpec: an analysis step naming a template that
// does not exist stops the rollout with InvalidSpec naming it, instead of
// waiting forever — from the first version on, as Argo Rollouts checks the
// templates a Rollout names on every reconcile, not when a run is due.
func TestMissingTemplateIsInvalidSpec(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, strings.Replace(bandRollout, "templateName: band", "templateName: nope", 1))
	framework.Eventually(t, 60*time.Second, "InvalidSpec naming the template", func() (bool, string) {
		ro := rollout(t, ns)
		for _, c := range ro.Status.Conditions {
			if c.Type == v1alpha1.InvalidSpec && c.Status == corev1.ConditionTrue && strings.Contains(c.Message, `AnalysisTemplate "nope"`) &&
				ro.Status.Phase == v1alpha1.RolloutPhaseDegraded {
				return true, ""
			}
		}
		return false, describeRollout(t, ns) + fmt.Sprint(ro.Status.Conditions)
	})
}

// TestClusterTemplateWithInstanceID: a cluster-wide controller (scoped by
// --instance-id so it touches nothing else) runs an analysis step from a
// ClusterAnalysisTemplate (clusterScope: true).
func TestClusterTemplateWithInstanceID(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	id := strings.TrimPrefix(ns, "e2e-")
	if len(id) > 40 {
		id = id[len(id)-40:]
	}
	framework.StartController(t, "--leader-elect=false", "--instance-id", id)
	url := serve(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"rate":0.99}`)) })
	name := "band-" + id
	apply(t, ns, strings.NewReplacer("kind: AnalysisTemplate", "kind: ClusterAnalysisTemplate", "name: band", "name: "+name, "URL", url).Replace(inconclusiveTemplate))
	t.Cleanup(func() {
		_ = e.Client.Delete(context.Background(), &v1alpha1.ClusterAnalysisTemplate{ObjectMeta: objMeta("", name)})
	})
	ro := strings.NewReplacer("templateName: band", "templateName: "+name+", clusterScope: true",
		"  name: web\n", "  name: web\n  labels: {argo-rollouts.argoproj.io/controller-instance-id: "+id+"}\n").Replace(bandRollout)
	apply(t, ns, ro)
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		return rollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 90*time.Second, "the update completes through the cluster template's step", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.ObservedGeneration == "2",
			describeRollout(t, ns)
	})
	all := runs(t, ns)
	if len(all) != 1 {
		t.Fatalf("want the step's one run, got %d", len(all))
	}
	for _, run := range all {
		if run.Labels[v1alpha1.LabelControllerInstanceID] != id || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("run %s: labels %v, %s", run.Name, run.Labels, describeRun(&run))
		}
	}
}

// TestJobMeasurementSurvivesControllerKill: the controller is killed while
// a Job measurement runs; the next controller picks the same Job up (no
// second Job) and completes the run when it finishes.
func TestJobMeasurementSurvivesControllerKill(t *testing.T) {
	e := framework.Get(t)
	ns, ctl := scoped(t)
	apply(t, ns, strings.NewReplacer("NAME", "held", "STATE", "hold").Replace(jobRun))
	var jobName string
	framework.Eventually(t, 60*time.Second, "the measurement's Job running", func() (bool, string) {
		var jobs batchv1.JobList
		_ = e.Client.List(context.Background(), &jobs, client.InNamespace(ns))
		if len(jobs.Items) == 1 {
			jobName = jobs.Items[0].Name
		}
		return jobName != "" && getRun(t, ns, "held").Status.Phase == v1alpha1.AnalysisPhaseRunning, describeRun(getRun(t, ns, "held"))
	})
	ctl.Kill()
	framework.SetJobPodsState(t, ns, jobName, framework.PodReady)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	waitForPhase(t, ns, "held", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	var jobs batchv1.JobList
	if err := e.Client.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Errorf("want the one Job, got %d", len(jobs.Items))
	}
}
