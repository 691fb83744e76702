package experiment

import (
	"os"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestExample10: examples/10-experiment.yaml as users apply it, with its
// five minutes and scale-down delay shortened: both templates run behind
// their Services, the smoke Job passes, the Experiment succeeds when its
// duration is up, and the ReplicaSets and Services are gone after.
func TestExample10(t *testing.T) {
	ns, _ := scoped(t)
	data, err := os.ReadFile(framework.Example(t, "10-experiment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, ns, replace(string(data), "duration: 5m", "duration: 15s", "scaleDownDelaySeconds: 30", "scaleDownDelaySeconds: 2"))
	const name = "rollouts-demo-candidate"
	ex := waitForPhase(t, ns, name, v1alpha1.AnalysisPhaseRunning, 60*time.Second)
	svcs := services(t, ns)
	for _, want := range []string{name + "-baseline", name} {
		if _, ok := svcs[want]; !ok {
			t.Errorf("Service %s missing while running (have %v; %s)", want, keys(svcs), describe(ex))
		}
	}
	ex = waitForPhase(t, ns, name, v1alpha1.AnalysisPhaseSuccessful, 90*time.Second)
	if len(ex.Status.AnalysisRuns) != 1 || ex.Status.AnalysisRuns[0].Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("smoke run: %s", describe(ex))
	}
	waitScaledDown(t, ns, 30*time.Second, name+"-baseline", name+"-canary")
	waitFor(t, 30*time.Second, "the template Services deleted", func() (bool, string) {
		s := services(t, ns)
		_, b := s[name+"-baseline"]
		_, c := s[name]
		return !b && !c, "still there"
	})
}
