package rules

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestSummarize(t *testing.T) {
	st := v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b", Replicas: 6, UpdatedReplicas: 1, AvailableReplicas: 5}
	evs := Summarize(&st, SummaryInput{Replicas: 5, Revision: "2"}, t0)
	if len(evs) != 1 || evs[0].Reason != "RolloutNotCompleted" || evs[0].Message != "Rollout not completed, started update to revision 2 (b)" {
		t.Errorf("update start events %+v", evs)
	}
	if again := Summarize(&st, SummaryInput{Replicas: 5, Revision: "2"}, t0); len(again) != 0 {
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
	if evs := Summarize(&st, SummaryInput{Replicas: 5, Revision: "2"}, t0); len(evs) != 0 {
		t.Errorf("completion is announced by the planner, not here: %+v", evs)
	}
	for _, typ := range []v1alpha1.RolloutConditionType{v1alpha1.RolloutAvailable, v1alpha1.RolloutCompleted, v1alpha1.RolloutHealthy} {
		if c := FindCondition(st.Conditions, typ); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("done %s: %+v", typ, c)
		}
	}
}

// kubectl wait --for=condition=Paused (and Paused=False) needs the Paused
// condition: True while a pause condition or spec.paused holds the
// rollout, False once resumed, absent before the first pause.
func TestPausedCondition(t *testing.T) {
	st := v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b"}
	in := SummaryInput{Replicas: 1, Revision: "2"}
	Summarize(&st, in, t0)
	if c := FindCondition(st.Conditions, v1alpha1.RolloutPaused); c != nil {
		t.Fatalf("never paused: want no Paused condition, got %+v", c)
	}
	st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	Summarize(&st, in, t0)
	if c := FindCondition(st.Conditions, v1alpha1.RolloutPaused); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "RolloutPaused" || c.Message != "Rollout is paused" {
		t.Fatalf("paused: %+v", c)
	}
	st.PauseConditions = nil
	Summarize(&st, in, t0.Add(time.Second))
	c := FindCondition(st.Conditions, v1alpha1.RolloutPaused)
	if c == nil || c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("resumed: %+v", c)
	}
	in.SpecPaused = true
	if Summarize(&st, in, t0); FindCondition(st.Conditions, v1alpha1.RolloutPaused).Status != corev1.ConditionTrue {
		t.Fatal("spec.paused: want Paused True")
	}
}

// Healthy per strategy: a blue-green rollout is healthy once promoted even
// while the old ReplicaSet waits out scaleDownDelaySeconds; a canary only
// once the old pods are gone; nothing paused is healthy.
func TestHealthyPerStrategy(t *testing.T) {
	healthy := func(st v1alpha1.RolloutStatus, in SummaryInput) bool {
		Summarize(&st, in, t0)
		return FindCondition(st.Conditions, v1alpha1.RolloutHealthy).Status == corev1.ConditionTrue
	}
	done := v1alpha1.RolloutStatus{StableRS: "b", CurrentPodHash: "b", Replicas: 6, UpdatedReplicas: 3, AvailableReplicas: 3}
	done.BlueGreen.ActiveSelector, done.BlueGreen.PreviewSelector = "b", "b"
	for _, c := range []struct {
		name string
		st   v1alpha1.RolloutStatus
		in   SummaryInput
		want bool
	}{
		{"blue-green promoted, old kept for its delay", done, SummaryInput{Replicas: 3, BlueGreen: true, PreviewService: true}, true},
		{"blue-green, active not switched yet", func() v1alpha1.RolloutStatus { s := done; s.BlueGreen.ActiveSelector = "a"; return s }(), SummaryInput{Replicas: 3, BlueGreen: true}, false},
		{"blue-green, preview still elsewhere", func() v1alpha1.RolloutStatus { s := done; s.BlueGreen.PreviewSelector = "a"; return s }(), SummaryInput{Replicas: 3, BlueGreen: true, PreviewService: true}, false},
		{"canary with old pods left", done, SummaryInput{Replicas: 3}, false},
		{"canary done", func() v1alpha1.RolloutStatus { s := done; s.Replicas = 3; return s }(), SummaryInput{Replicas: 3}, true},
		{"canary done but paused", func() v1alpha1.RolloutStatus { s := done; s.Replicas = 3; return s }(), SummaryInput{Replicas: 3, SpecPaused: true}, false},
	} {
		if got := healthy(c.st, c.in); got != c.want {
			t.Errorf("%s: healthy %v, want %v", c.name, got, c.want)
		}
	}
}
