package bluegreen

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// kubectlWait runs `kubectl wait --for=condition=<cond> rollout/<name>` as
// users and CI jobs do, failing the test if it does not return in time.
func (f *fixture) kubectlWait(cond string, timeout time.Duration) {
	f.t.Helper()
	out, err := framework.Get(f.t).Kubectl(context.Background(), "wait", "-n", f.ns, "--for=condition="+cond, "rollout/"+f.name,
		fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
	if err != nil || !strings.Contains(out, "condition met") {
		f.t.Fatalf("kubectl wait --for=condition=%s: %v %s\n%s\nconditions %+v", cond, err, out, f.snap(), f.snap().ro.Status.Conditions)
	}
}

// TestStatusCountsAndConditionsAsArgoRollouts promotes a blue-green update
// whose old ReplicaSet is kept for a long scaleDownDelaySeconds. As in
// Argo Rollouts (its TestBlueGreenUpdate and TestKubectlWaitForPaused /
// ForCompleted): ready and available count the active ReplicaSet only
// (replicas still counts every pod), `kubectl wait --for=condition=Paused`
// returns at the BlueGreenPause and Paused=False after promote, and
// `kubectl wait --for=condition=Healthy=True` returns while the old pods
// wait out their delay — it used to time out.
func TestStatusCountsAndConditionsAsArgoRollouts(t *testing.T) {
	f := newFixture(t, "web", 3)
	m := strings.Replace(manifest("autoPromotionEnabled: false"), "replicas: 2", "replicas: 3", 1)
	m = strings.Replace(m, "scaleDownDelaySeconds: 3\n", "scaleDownDelaySeconds: 600\n", 1)
	f.deploy(m)
	f.kubectlWait("Healthy=True", 30*time.Second)
	f.update()
	f.kubectlWait("Paused", 60*time.Second)
	s := f.until(30*time.Second, "the preview up, paused; counts of the active ReplicaSet", func(s snapshot) bool {
		st := s.ro.Status
		return f.pausedForPromotion(s) && st.Replicas == 6 && st.ReadyReplicas == 3 && st.AvailableReplicas == 3 && st.UpdatedReplicas == 3
	})
	if c := condition(s.ro, v1alpha1.RolloutHealthy); c == nil || c.Status != "False" {
		t.Fatalf("Healthy while paused for promotion: %+v", c)
	}
	f.patchStatus(promotePatch)
	f.kubectlWait("Paused=False", 30*time.Second)
	f.kubectlWait("Healthy=True", 30*time.Second)
	f.kubectlWait("Completed=True", 30*time.Second)
	s = f.snap()
	st := s.ro.Status
	if !f.promoted(s) || s.rs[f.blue].spec != 3 || st.Replicas != 6 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.HPAReplicas != 3 {
		t.Fatalf("after promotion with the old version kept: want replicas 6, updated/ready/available/HPA 3; %s (replicas %d updated %d ready %d available %d hpa %d)",
			s, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.HPAReplicas)
	}
}

func condition(ro *v1alpha1.Rollout, typ v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == typ {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}
