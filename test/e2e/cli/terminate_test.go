package cli

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// heldRun is an AnalysisRun whose Job pod stays Running until told
// otherwise, so the run is in progress until terminated.
const heldRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: held
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {test.aviary.dev/state: hold}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "sleep 3600"]
`

const experiment = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: exp
spec:
  duration: 1h
  templates:
  - name: baseline
    replicas: 1
    selector:
      matchLabels: {app: exp}
    template:
      metadata:
        labels: {app: exp}
      spec:
        containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
`

// TestTerminateAnalysisRun terminates a running AnalysisRun: the controller
// ends it.
func TestTerminateAnalysisRun(t *testing.T) {
	ns := cliNamespace(t)
	applyManifest(t, ns, heldRun)
	c := framework.Get(t).Client
	run := &v1alpha1.AnalysisRun{}
	framework.Eventually(t, 60*time.Second, "the run Running", func() (bool, string) {
		if err := c.Get(context.Background(), framework.Key(ns, "held"), run); err != nil {
			return false, err.Error()
		}
		return run.Status.Phase == v1alpha1.AnalysisPhaseRunning, string(run.Status.Phase)
	})
	mustCLI(t, ns, "analysisRun 'held' terminated\n", "terminate", "analysisrun", "held")
	framework.Eventually(t, 60*time.Second, "the run terminated and completed", func() (bool, string) {
		if err := c.Get(context.Background(), framework.Key(ns, "held"), run); err != nil {
			return false, err.Error()
		}
		return run.Spec.Terminate && run.Status.Phase.Completed(), string(run.Status.Phase)
	})
}

// TestExperimentCommands checks what retry experiment and terminate
// experiment write through the API server: an emptied status (the
// experiment runs again), and spec.terminate. No controller runs, so the
// objects show the commands' writes alone.
func TestExperimentCommands(t *testing.T) {
	ns := framework.Namespace(t)
	applyManifest(t, ns, experiment)
	c := framework.Get(t).Client
	ctx := context.Background()
	failed := &v1alpha1.Experiment{}
	failed.Namespace, failed.Name = ns, "exp"
	if err := c.Status().Patch(ctx, failed, client.RawPatch(types.MergePatchType, []byte(`{"status":{"phase":"Failed","message":"boom"}}`))); err != nil {
		t.Fatalf("mark the experiment Failed: %v", err)
	}
	mustCLI(t, ns, "experiment 'exp' retried\n", "retry", "experiment", "exp")
	ex := &v1alpha1.Experiment{}
	if err := c.Get(ctx, framework.Key(ns, "exp"), ex); err != nil {
		t.Fatal(err)
	}
	if ex.Status.Phase != "" || ex.Status.Message != "" {
		t.Errorf("after retry the status is %+v, want it cleared", ex.Status)
	}
	mustCLI(t, ns, "experiment 'exp' terminated\n", "terminate", "experiment", "exp")
	if err := c.Get(ctx, framework.Key(ns, "exp"), ex); err != nil {
		t.Fatal(err)
	}
	if !ex.Spec.Terminate {
		t.Error("after terminate spec.terminate is false")
	}
	_, stderr, code := runCLI(t, "-n", ns, "terminate", "experiment", "nope")
	if want := `Error: experiment "nope" not found in namespace "` + ns + `"` + "\n"; code == 0 || stderr != want {
		t.Errorf("unknown experiment: exit %d, stderr %q, want %q", code, stderr, want)
	}
}
