// Package canary runs canary rollouts end to end on the local cluster, with
// the controller scoped to each test's namespace.
package canary

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// scopedNamespace creates the test's namespace and runs a controller scoped
// to it (no leader election), so tests never share a controller.
func scopedNamespace(t *testing.T) (string, *framework.Controller) {
	t.Helper()
	ns := framework.Namespace(t)
	return ns, framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
}

// waitForFirstVersion waits until the rollout's first version is stable,
// Healthy and fully available, and returns its pod-template hash.
func waitForFirstVersion(t *testing.T, ns string, replicas int32) string {
	t.Helper()
	var hash string
	framework.Eventually(t, 60*time.Second, "the first version Healthy and fully available", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		hash = ro.Status.StableRS
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && hash != "" && hash == ro.Status.CurrentPodHash && avail[hash] == replicas
		return ok, describe(ro, spec, avail)
	})
	return hash
}
