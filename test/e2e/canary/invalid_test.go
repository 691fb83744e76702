package canary

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestInvalidSpecHaltsWithAMessageAndRecovers applies a Rollout the schema
// accepts but the controller must refuse (setWeight above 100): it is
// Degraded with the field and value named and no pods are started; fixing
// the spec lets it deploy.
func TestInvalidSpecHaltsWithAMessageAndRecovers(t *testing.T) {
	ns, _ := scopedNamespace(t)
	bad := strings.Replace(servicesManifest, "- setWeight: 25", "- setWeight: 150", 1)
	bad = strings.Replace(bad, "      canaryService: web-canary\n      stableService: web-stable\n", "", 1)
	applyYAML(t, ns, bad)
	framework.Eventually(t, 30*time.Second, "Degraded with InvalidSpec naming setWeight", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && len(spec) == 0 &&
			strings.Contains(ro.Status.Message, "InvalidSpec: spec.strategy.canary.steps[0].setWeight: Invalid value: 150: must be between 0 and 100")
		return ok, describe(ro, spec, avail)
	})
	applyYAML(t, ns, strings.Replace(bad, "- setWeight: 150", "- setWeight: 25", 1))
	framework.Eventually(t, 60*time.Second, "Healthy after the fix", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describe(ro, spec, avail)
	})
}
