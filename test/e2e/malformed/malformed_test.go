package malformed

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// rollout is a canary Rollout NAME with its first container's memory
// request MEMORY.
const rollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: NAME
spec:
  replicas: 2
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
      annotations: {test.aviary.dev/fast: "true"}
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
        resources: {requests: {memory: MEMORY}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 1}
`

func rolloutDoc(name, memory string) string {
	return strings.NewReplacer("NAME", name, "MEMORY", memory).Replace(rollout)
}

const memoryField = "spec.template.spec.containers[0].resources.requests.memory"

// TestMalformedRolloutStopsNoOther: a Rollout whose pod template the Go
// types refuse, there before the controller starts, neither keeps the
// controller from becoming ready nor stops the others; it is reported with
// InvalidSpec naming the field, and a Warning event.
func TestMalformedRolloutStopsNoOther(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns, rolloutDoc("broken", "invalid"), rolloutDoc("web-a", "64Mi"), rolloutDoc("web-b", "64Mi"))
	startController(t, ns)

	waitForUpdate(t, ns, "web-a", "argoproj/rollouts-demo:blue", 60*time.Second)
	waitForUpdate(t, ns, "web-b", "argoproj/rollouts-demo:blue", 60*time.Second)
	framework.SetRolloutImage(t, ns, "web-a", "argoproj/rollouts-demo:green")
	waitForUpdate(t, ns, "web-a", "argoproj/rollouts-demo:green", 90*time.Second)

	var msg string
	framework.Eventually(t, 30*time.Second, "InvalidSpec on the malformed rollout", func() (bool, string) {
		u := read(t, ns, "Rollout", "broken")
		msg = invalidSpec(u)
		return strings.Contains(msg, memoryField) && status(u, "phase") == string(v1alpha1.RolloutPhaseDegraded) &&
			status(u, "message") == "InvalidSpec: "+msg, status(u, "phase") + " " + status(u, "message")
	})
	if !strings.Contains(msg, `"invalid"`) || !strings.Contains(msg, "quantities must match") || !strings.Contains(msg, "re-apply the Rollout") {
		t.Errorf("InvalidSpec message should name the value, the cause and the fix: %q", msg)
	}
	waitForWarning(t, ns, "Rollout", "broken", memoryField)
	stays(t, ns, "Rollout", "broken", 3*time.Second)
}

// TestFixedRolloutRecovers: once the value is corrected the Rollout comes
// back into the controller's cache and rolls out like any other.
func TestFixedRolloutRecovers(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns, rolloutDoc("broken", "invalid"))
	startController(t, ns)
	framework.Eventually(t, 30*time.Second, "InvalidSpec on the malformed rollout", func() (bool, string) {
		u := read(t, ns, "Rollout", "broken")
		return strings.Contains(invalidSpec(u), memoryField), status(u, "phase") + " " + status(u, "message")
	})

	patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/memory","value":"64Mi"}]`
	if _, err := framework.Get(t).Dynamic.Resource(v1alpha1.GroupVersion.WithResource("rollouts")).Namespace(ns).
		Patch(context.Background(), "broken", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForUpdate(t, ns, "broken", "argoproj/rollouts-demo:blue", 60*time.Second)
	if msg := invalidSpec(read(t, ns, "Rollout", "broken")); msg != "" {
		t.Errorf("a fixed Rollout still carries InvalidSpec: %q", msg)
	}
}

const smokeTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
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
            metadata:
              annotations: {test.aviary.dev/state: ready}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "exit 0"]
                resources: {requests: {memory: MEMORY}}
`

const brokenRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: broken-run
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                resources: {requests: {memory: invalid}}
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
      annotations: {test.aviary.dev/fast: "true"}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates: [{templateName: smoke}]
`

// TestMalformedAnalysisObjectsStopNoAnalysis: a malformed AnalysisRun ends
// in Error naming the field, a malformed AnalysisTemplate gets a Warning
// event naming it, and a Rollout analysed with a sound template still
// completes its update.
func TestMalformedAnalysisObjectsStopNoAnalysis(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns,
		strings.NewReplacer("NAME", "broken-template", "MEMORY", "invalid").Replace(smokeTemplate),
		brokenRun,
		strings.NewReplacer("NAME", "smoke", "MEMORY", "16Mi").Replace(smokeTemplate),
		analysedRollout)
	startController(t, ns)

	jobMemory := "spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.requests.memory"
	framework.Eventually(t, 30*time.Second, "the malformed run in Error", func() (bool, string) {
		u := read(t, ns, "AnalysisRun", "broken-run")
		return status(u, "phase") == string(v1alpha1.AnalysisPhaseError) && strings.Contains(status(u, "message"), jobMemory),
			status(u, "phase") + " " + status(u, "message")
	})
	waitForWarning(t, ns, "AnalysisRun", "broken-run", jobMemory)
	waitForWarning(t, ns, "AnalysisTemplate", "broken-template", jobMemory)
	stays(t, ns, "AnalysisRun", "broken-run", 2*time.Second)

	waitForUpdate(t, ns, "web", "argoproj/rollouts-demo:blue", 60*time.Second)
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waitForUpdate(t, ns, "web", "argoproj/rollouts-demo:green", 90*time.Second)
	// Listed raw: the typed client cannot decode broken-run.
	runs, err := framework.Get(t).Dynamic.Resource(v1alpha1.GroupVersion.WithResource("analysisruns")).Namespace(ns).
		List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, r := range runs.Items {
		if strings.HasPrefix(r.GetName(), "web-") && status(&r, "phase") == string(v1alpha1.AnalysisPhaseSuccessful) {
			ok = true
		}
	}
	if !ok {
		t.Errorf("the rollout's step analysis did not run to success")
	}
}
