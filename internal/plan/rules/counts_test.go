package rules

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestCountsOnly(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(5 * time.Second))
	base := func() *v1alpha1.RolloutStatus {
		return &v1alpha1.RolloutStatus{
			Replicas: 3, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3, HPAReplicas: 3,
			Phase: v1alpha1.RolloutPhaseProgressing, Message: "more replicas need to be updated",
			CurrentPodHash: "new", StableRS: "old", CurrentStepIndex: new(int32(0)),
			Conditions: []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue,
				Reason: v1alpha1.ReplicaSetUpdatedReason, Message: `ReplicaSet "web-new" is progressing.`, LastUpdateTime: t0, LastTransitionTime: t0}},
		}
	}
	cases := []struct {
		name   string
		change func(*v1alpha1.RolloutStatus)
		want   bool
	}{
		{"nothing changed: nothing to write, nothing to defer", func(*v1alpha1.RolloutStatus) {}, false},
		{"counts and the progress time moved", func(s *v1alpha1.RolloutStatus) {
			s.Replicas, s.AvailableReplicas, s.HPAReplicas = 4, 4, 4
			s.Conditions[0].LastUpdateTime = t1
		}, true},
		{"the message moved with the phase unchanged", func(s *v1alpha1.RolloutStatus) {
			s.UpdatedReplicas, s.Message = 3, "old replicas are pending termination"
		}, true},
		{"the phase changed", func(s *v1alpha1.RolloutStatus) {
			s.Replicas, s.Phase = 4, v1alpha1.RolloutPhaseHealthy
		}, false},
		{"a step completed", func(s *v1alpha1.RolloutStatus) {
			s.Replicas, s.CurrentStepIndex = 4, new(int32(1))
		}, false},
		{"a condition changed state", func(s *v1alpha1.RolloutStatus) {
			s.Replicas = 4
			s.Conditions[0].Status, s.Conditions[0].LastTransitionTime = corev1.ConditionFalse, t1
		}, false},
		{"a condition was added", func(s *v1alpha1.RolloutStatus) {
			s.Replicas = 4
			s.Conditions = append(s.Conditions, v1alpha1.RolloutCondition{Type: v1alpha1.RolloutPaused, Status: corev1.ConditionTrue})
		}, false},
		{"a pause began", func(s *v1alpha1.RolloutStatus) {
			s.Replicas = 4
			s.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: t1}}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, after := base(), base()
			c.change(after)
			if got := CountsOnly(before, after); got != c.want {
				t.Errorf("CountsOnly = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMayWait(t *testing.T) {
	st := &v1alpha1.RolloutStatus{Replicas: 3, AvailableReplicas: 3, Phase: v1alpha1.RolloutPhaseProgressing}
	moved := st.DeepCopy()
	moved.AvailableReplicas = 4
	decided := st.DeepCopy()
	decided.CurrentStepIndex = new(int32(1))
	for _, c := range []struct {
		name          string
		after         *v1alpha1.RolloutStatus
		waiting, want bool
	}{
		{"unchanged, nothing waits: nothing to wait for", st, false, false},
		{"unchanged while counts wait: keep waiting", st, true, true},
		{"counts moved", moved, false, true},
		{"counts moved while waiting", moved, true, true},
		{"a decision never waits", decided, true, false},
	} {
		if got := MayWait(st, c.after, c.waiting); got != c.want {
			t.Errorf("%s: MayWait = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestUpdating(t *testing.T) {
	completed := func(s corev1.ConditionStatus) *v1alpha1.RolloutStatus {
		return &v1alpha1.RolloutStatus{Conditions: []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutCompleted, Status: s}}}
	}
	if !Updating(&v1alpha1.RolloutStatus{}) || !Updating(completed(corev1.ConditionFalse)) || Updating(completed(corev1.ConditionTrue)) {
		t.Fatal("an update is under way exactly while Completed is not True")
	}
}
