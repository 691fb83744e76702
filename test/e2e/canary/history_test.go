package canary

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestPromoteFullAndRevisionHistoryLimit pushes four more versions through
// seed 03 with `promote --full` ({"status":{"promoteFull":true}}), each
// skipping the remaining steps, and checks that only revisionHistoryLimit
// (2) scaled-down ReplicaSets are kept beside the stable one.
func TestPromoteFullAndRevisionHistoryLimit(t *testing.T) {
	ns, _, _, _ := startSeed03Update(t)
	for _, image := range []string{"", "yellow", "red", "purple"} {
		if image != "" {
			setImage(t, ns, "argoproj/rollouts-demo:"+image)
			framework.Eventually(t, 30*time.Second, "the "+image+" update to start", func() (bool, string) {
				ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
				return ro.Status.CurrentPodHash != ro.Status.StableRS && ro.Status.CurrentStepIndex != nil, describe(ro, spec, avail)
			})
		}
		patchStatus(t, ns, `{"status":{"promoteFull":true}}`)
		framework.Eventually(t, 60*time.Second, "full promotion of "+image, func() (bool, string) {
			ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
			h := ro.Status.CurrentPodHash
			ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == h && spec[h] == 5 && !ro.Status.PromoteFull
			return ok, describe(ro, spec, avail)
		})
	}
	framework.Eventually(t, 30*time.Second, "two old ReplicaSets kept", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return len(spec) == 3, describe(ro, spec, avail)
	})
}
