package cli

import (
	"fmt"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// gateManifest has a timed pause followed, after another weight, by the
// manual gate (pause: {}).
const gateManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 5
  selector:
    matchLabels: {app: gate}
  template:
    metadata:
      labels: {app: gate}
    spec:
      containers: [{name: rollouts-demo, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {duration: 1h}
      - setWeight: 40
      - pause: {}
      - setWeight: 60
`

// argoCDSkip is the status patch Argo CD's "skip current step" action sends.
func argoCDSkip(index int32) string {
	return fmt.Sprintf(`{"status":{"currentStepIndex":%d,"pauseConditions":null}}`, index)
}

// TestArgoCDSkipStopsAtTheNextGate skips a timed pause the way Argo CD
// does. The rollout must still stop at the manual gate that follows (it
// once went straight to Healthy, the controller's stale pause flag taken
// for a resume), and a rollout finished after a skip must not be reported
// as "waiting for rollout to unpause": `status` exits 0.
func TestArgoCDSkipStopsAtTheNextGate(t *testing.T) {
	ns := cliNamespace(t)
	applyManifest(t, ns, gateManifest)
	blueHash := waitRollout(t, ns, demo, 60*time.Second, "blue Healthy", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() != "" && v.stable() == v.current()
	}).stable()

	mustCLI(t, ns, `rollout "rollouts-demo" image updated`+"\n", "set", "image", demo, "rollouts-demo="+green)
	v := waitRollout(t, ns, demo, 60*time.Second, "paused at the 1h pause (step 1)", func(v rolloutView) bool {
		return v.current() != blueHash && v.step() == 1 && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused && v.ro.Status.ControllerPause
	})
	greenHash := v.current()

	framework.PatchRolloutStatus(t, ns, demo, argoCDSkip(2))
	waitRollout(t, ns, demo, 60*time.Second, "held at the manual gate (step 3) with 2 of 5 pods on green", func(v rolloutView) bool {
		return v.step() == 3 && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused && v.ro.Status.Message == string(v1alpha1.PauseReasonCanaryPauseStep) &&
			v.spec[greenHash] == 2 && v.avail[greenHash] == 2
	})
	// It stays there: nothing but a promote moves a manual gate.
	time.Sleep(3 * time.Second)
	if v = viewRollout(t, ns, demo); v.step() != 3 || v.stable() != blueHash || v.ro.Status.Phase != v1alpha1.RolloutPhasePaused {
		t.Fatalf("the manual gate did not hold after the skip: %s", v)
	}

	// Skipping the gate too, the way Argo CD does, finishes the rollout;
	// the controller's pause flag goes with the pause.
	framework.PatchRolloutStatus(t, ns, demo, argoCDSkip(4))
	v = waitRollout(t, ns, demo, 90*time.Second, "green Healthy after the skips", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() == greenHash && v.avail[greenHash] == 5
	})
	if v.ro.Status.ControllerPause {
		t.Errorf("a finished rollout keeps status.controllerPause after a skip: %s", v)
	}
	stdout, stderr, code := runCLI(t, "-n", ns, "status", demo, "--timeout", "20s")
	if code != 0 || stdout != "Healthy\n" {
		t.Errorf("status after the skips: exit %d, stdout %q, stderr %q; want 0, \"Healthy\\n\"", code, stdout, stderr)
	}
}
