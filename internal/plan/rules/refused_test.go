package rules

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestCreateRefused(t *testing.T) {
	t0 := time.Unix(1800000000, 0)
	quota := `replicasets.apps "web-5cfb94d6c5" is forbidden: exceeded quota: rs`
	want := `Failed to create new replica set "web-5cfb94d6c5": ` + quota
	var st v1alpha1.RolloutStatus
	SetCondition(&st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, "progressing", t0)
	for i, c := range []struct {
		refusal     string
		wantChanged bool
	}{
		{quota, true},
		{quota, false}, // the same refusal again: told once
		{"admission webhook denied the request", true},
	} {
		now := t0.Add(time.Duration(i+1) * time.Second)
		e, changed := CreateRefused(&st, "web-5cfb94d6c5", c.refusal, now)
		cond := FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
		msg := `Failed to create new replica set "web-5cfb94d6c5": ` + c.refusal
		if changed != c.wantChanged || cond.Status != corev1.ConditionFalse || cond.Reason != v1alpha1.FailedRSCreateReason || cond.Message != msg {
			t.Fatalf("refusal %d: changed %v, condition %s/%s %q", i, changed, cond.Status, cond.Reason, cond.Message)
		}
		if changed && (e != Event{Warning: true, Reason: "ReplicaSetCreateError", Message: msg}) {
			t.Errorf("refusal %d: event %+v", i, e)
		}
		if i == 0 && (cond.Message != want || !cond.LastTransitionTime.Time.Equal(now)) {
			t.Errorf("first refusal: %q at %v, want %q at %v", cond.Message, cond.LastTransitionTime, want, now)
		}
	}
}
