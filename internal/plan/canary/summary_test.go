package canary

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestSummarize(t *testing.T) {
	st := v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b", Replicas: 6, UpdatedReplicas: 1, AvailableReplicas: 5}
	evs := Summarize(&st, 5, "2", t0)
	if len(evs) != 1 || evs[0].Reason != "RolloutNotCompleted" || evs[0].Message != "Rollout not completed, started update to revision 2 (b)" {
		t.Errorf("update start events %+v", evs)
	}
	if again := Summarize(&st, 5, "2", t0); len(again) != 0 {
		t.Errorf("the same update must not be announced twice: %+v", again)
	}
	want := map[v1alpha1.RolloutConditionType]corev1.ConditionStatus{
		v1alpha1.RolloutAvailable: corev1.ConditionTrue, v1alpha1.RolloutCompleted: corev1.ConditionFalse, v1alpha1.RolloutHealthy: corev1.ConditionFalse,
	}
	for typ, s := range want {
		if c := FindCondition(st.Conditions, typ); c == nil || c.Status != s {
			t.Errorf("mid-update %s: %+v, want %s", typ, c, s)
		}
	}
	if c := FindCondition(st.Conditions, v1alpha1.RolloutCompleted); c.Message != "Rollout not completed, started update to revision 2 (b)" {
		t.Errorf("message %q", c.Message)
	}
	st = v1alpha1.RolloutStatus{StableRS: "b", CurrentPodHash: "b", Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 5}
	if evs := Summarize(&st, 5, "2", t0); len(evs) != 0 {
		t.Errorf("completion is announced by the planner, not here: %+v", evs)
	}
	for _, typ := range []v1alpha1.RolloutConditionType{v1alpha1.RolloutAvailable, v1alpha1.RolloutCompleted, v1alpha1.RolloutHealthy} {
		if c := FindCondition(st.Conditions, typ); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("done %s: %+v", typ, c)
		}
	}
}
