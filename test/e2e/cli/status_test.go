package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestStatusExitCodes runs `status --timeout 30s` as a CI job would: exit
// 0 once Healthy, non-zero at once when Degraded, non-zero when the
// timeout passes with the rollout still Paused.
func TestStatusExitCodes(t *testing.T) {
	ns := cliNamespace(t)
	blueHash := startSeed03(t, ns)

	stdout, stderr, code := runCLI(t, "-n", ns, "status", demo, "--timeout", "30s")
	if code != 0 || stdout != "Healthy\n" {
		t.Errorf("Healthy: exit %d, stdout %q, stderr %q; want 0, \"Healthy\\n\"", code, stdout, stderr)
	}

	mustCLI(t, ns, `rollout "rollouts-demo" image updated`+"\n", "set", "image", demo, "rollouts-demo="+green)
	v := waitRollout(t, ns, demo, 60*time.Second, "a new version paused at step 1", func(v rolloutView) bool {
		return v.current() != blueHash && pausedAtFirstStep(v.current(), blueHash)(v)
	})
	greenHash := v.current()

	// Paused is not an end state: without --watch it is reported and is
	// not a failure; watched, it runs into the timeout.
	mustCLI(t, ns, "Paused - CanaryPauseStep\n", "status", demo, "--watch=false")
	start := time.Now()
	stdout, stderr, code = runCLI(t, "-n", ns, "status", demo, "--timeout", "30s")
	if took := time.Since(start); code == 0 || took < 30*time.Second || !strings.HasSuffix(stdout, "Paused - CanaryPauseStep\n") ||
		!strings.Contains(stderr, "Rollout status watch exceeded timeout") {
		t.Errorf("Paused until the timeout: exit %d after %s, stdout %q, stderr %q; want non-zero after 30s", code, took, stdout, stderr)
	}

	mustCLI(t, ns, "rollout 'rollouts-demo' aborted\n", "abort", demo)
	waitRollout(t, ns, demo, 60*time.Second, "Degraded", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && v.spec[greenHash] == 0
	})
	start = time.Now()
	stdout, stderr, code = runCLI(t, "-n", ns, "status", demo, "--timeout", "30s")
	const degraded = "Degraded - RolloutAborted: Rollout aborted update to revision 2"
	if took := time.Since(start); code == 0 || took > 20*time.Second || stdout != degraded+"\n" ||
		!strings.Contains(stderr, "The rollout is in a degraded state with message: RolloutAborted: Rollout aborted update to revision 2") {
		t.Errorf("Degraded: exit %d after %s, stdout %q, stderr %q; want non-zero at once", code, took, stdout, stderr)
	}

	// Watching an update through to the end: retried, it pauses at step 1
	// again; once promoted in full, status follows it until Healthy. (The
	// wait for the pause keeps status from reading the Degraded phase
	// written before the retry.)
	mustCLI(t, ns, "rollout 'rollouts-demo' retried\n", "retry", "rollout", demo)
	waitRollout(t, ns, demo, 60*time.Second, "paused at step 1 again", pausedAtFirstStep(greenHash, blueHash))
	mustCLI(t, ns, "rollout 'rollouts-demo' fully promoted\n", "promote", demo, "--full")
	stdout, stderr, code = runCLI(t, "-n", ns, "status", demo, "--timeout", "90s")
	if code != 0 || !strings.HasSuffix(stdout, "Healthy\n") {
		t.Errorf("promoted: exit %d, stdout %q, stderr %q; want 0 ending in Healthy", code, stdout, stderr)
	}
	waitRollout(t, ns, demo, 10*time.Second, "green stable", func(v rolloutView) bool {
		return v.stable() == greenHash && v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy
	})
}

// TestUnknownRollout checks the error a person gets for a typo, from
// every command that reads a rollout.
func TestUnknownRollout(t *testing.T) {
	ns := framework.Namespace(t)
	want := `rollout "nope" not found in namespace "` + ns + `"`
	for _, args := range [][]string{
		{"status", "nope"}, {"promote", "nope"}, {"abort", "nope"}, {"retry", "rollout", "nope"}, {"pause", "nope"},
		{"restart", "nope"}, {"undo", "nope"}, {"set", "image", "nope", "a=b"},
	} {
		_, stderr, code := runCLI(t, append([]string{"-n", ns}, args...)...)
		if code == 0 || stderr != "Error: "+want+"\n" {
			t.Errorf("%v: exit %d, stderr %q; want non-zero and %q", args, code, stderr, want)
		}
	}
}
