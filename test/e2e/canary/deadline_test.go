package canary

import (
	"context"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const deadlineManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  progressDeadlineAbort: true
  selector:
    matchLabels: {app: slow}
  template:
    metadata:
      labels: {app: slow}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
`

// TestProgressDeadlineAbortsAStuckCanary holds the new version's pods
// unready: after progressDeadlineSeconds the update is reported as timed out
// and, with progressDeadlineAbort, aborted back to the stable version.
func TestProgressDeadlineAbortsAStuckCanary(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, deadlineManifest)
	blue := waitForFirstVersion(t, ns, 2)
	patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"argoproj/rollouts-demo:green"},
	 {"op":"add","path":"/spec/template/metadata/annotations","value":{"` + framework.PodStateAnnotation + `":"unready"}}]`
	if out, err := e.Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "json", "-p", patch); err != nil {
		t.Fatalf("update with unready pods: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "aborted after the deadline, stable back at 2", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green := ro.Status.CurrentPodHash
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && green != blue &&
			spec[green] == 0 && spec[blue] == 2 && avail[blue] == 2
		return ok, describe(ro, spec, avail)
	})
	if msgs := framework.RolloutEventMessages(t, ns, "ProgressDeadlineExceeded"); len(msgs) == 0 {
		t.Fatalf("want a ProgressDeadlineExceeded event, got %v", framework.RolloutEvents(t, ns))
	}
}
