package analysis

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const jobRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: NAME
spec:
  metrics:
  - name: smoke
    provider:
      job:
        metadata:
          labels: {purpose: smoke}
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {test.aviary.dev/state: STATE}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "exit 0"]
`

// TestJobMetric runs one Job per measurement: a Job whose pod succeeds
// makes the run Successful, one whose pod fails makes it Failed. The Job
// is owned by the run and labelled with its UID, as Argo Rollouts does.
func TestJobMetric(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scoped(t)
	apply(t, ns, strings.NewReplacer("NAME", "passes", "STATE", "ready").Replace(jobRun))
	apply(t, ns, strings.NewReplacer("NAME", "fails", "STATE", "fail").Replace(jobRun))
	ok := waitForPhase(t, ns, "passes", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	bad := waitForPhase(t, ns, "fails", v1alpha1.AnalysisPhaseFailed, 60*time.Second)
	if r := bad.Status.MetricResults; len(r) != 1 || r[0].Failed != 1 || !strings.Contains(bad.Status.Message, "smoke") {
		t.Errorf("failed run: %s", describeRun(bad))
	}
	var jobs batchv1.JobList
	if err := e.Client.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{"analysisrun.argoproj.io/uid": string(ok.UID)}); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Fatalf("want one Job for the passing run, got %d", len(jobs.Items))
	}
	j := jobs.Items[0]
	if j.Labels["purpose"] != "smoke" || j.Annotations["analysisrun.argoproj.io/name"] != "passes" ||
		j.Annotations["analysisrun.argoproj.io/metric-name"] != "smoke" || j.OwnerReferences[0].UID != ok.UID ||
		j.Name != string(ok.UID)+".smoke.1" {
		t.Errorf("Job metadata: name %s labels %v annotations %v owners %v", j.Name, j.Labels, j.Annotations, j.OwnerReferences)
	}
}
