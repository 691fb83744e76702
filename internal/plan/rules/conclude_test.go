package rules

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func concludeSet(hash string, replicas, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
			"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func TestConclude(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 7}}
	ro.Spec.Replicas = new(int32(3))
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview"}
	restartAt := metav1.NewTime(t0)
	ro.Spec.RestartAt = &restartAt
	active, preview := concludeSet("aaa", 3, 3), concludeSet("bbb", 3, 1)
	st := v1alpha1.RolloutStatus{StableRS: "aaa", CurrentPodHash: "bbb"}
	st.BlueGreen.ActiveSelector = "aaa"
	st.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue}}
	gen := int64(4)
	c := Conclude(Ending{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{active, preview}, NewRS: preview, Status: st,
		Progressed: true, Restarted: true, WorkloadGeneration: &gen, Now: t0})
	got := c.Status
	if got.Replicas != 6 || got.UpdatedReplicas != 3 {
		t.Errorf("totals: replicas %d updated %d, want 6 and 3", got.Replicas, got.UpdatedReplicas)
	}
	// Blue-green reports what the active ReplicaSet serves.
	if got.HPAReplicas != 3 || got.AvailableReplicas != 3 || got.Selector != "app=web,rollouts-pod-template-hash=aaa" {
		t.Errorf("active counts: hpa %d available %d selector %q", got.HPAReplicas, got.AvailableReplicas, got.Selector)
	}
	if FindCondition(got.Conditions, v1alpha1.InvalidSpec) != nil {
		t.Error("an earlier InvalidSpec condition is kept")
	}
	if got.RestartedAt == nil || !got.RestartedAt.Equal(&restartAt) || got.WorkloadObservedGeneration != "4" || got.ObservedGeneration != "7" {
		t.Errorf("restartedAt %v, workload generation %q, observed generation %q", got.RestartedAt, got.WorkloadObservedGeneration, got.ObservedGeneration)
	}
	if got.Phase == "" || FindCondition(got.Conditions, v1alpha1.RolloutProgressing) == nil {
		t.Errorf("phase %q and conditions %v: the phase follows the conditions Conclude sets", got.Phase, got.Conditions)
	}
	// No workloadRef: no generation, even one left from before.
	st.WorkloadObservedGeneration = "4"
	if c := Conclude(Ending{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{active}, NewRS: active, Status: st, Now: t0}); c.Status.WorkloadObservedGeneration != "" {
		t.Errorf("workload generation %q kept without a workloadRef", c.Status.WorkloadObservedGeneration)
	}
}

func TestInvalid(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Replicas = new(int32(2))
	st, first, requeue := Invalid(ro, nil, "spec.strategy: Required value: set canary or blueGreen", t0)
	c := FindCondition(st.Conditions, v1alpha1.InvalidSpec)
	if !first || requeue <= 0 || c == nil || c.Status != corev1.ConditionTrue || c.Reason != v1alpha1.InvalidSpecReason || st.Phase != v1alpha1.RolloutPhaseDegraded {
		t.Fatalf("first report: first %v requeue %v condition %+v phase %q", first, requeue, c, st.Phase)
	}
	// The same message again keeps the condition as it was and is no news.
	ro.Status = st
	again, first, _ := Invalid(ro, nil, c.Message, t0.Add(time.Minute))
	if first || !FindCondition(again.Conditions, v1alpha1.InvalidSpec).LastUpdateTime.Equal(&c.LastUpdateTime) {
		t.Fatalf("same message: first %v condition %+v", first, FindCondition(again.Conditions, v1alpha1.InvalidSpec))
	}
	// Another message is.
	if _, first, _ := Invalid(ro, nil, "another", t0.Add(time.Minute)); !first {
		t.Fatal("a new message is not reported")
	}
}

// TestConcludeEvidenceWaitHasNoDeadline: a canary waiting for evidence
// before its promotion waits as long as its analysis takes, like an
// analysis step; the same status without the wait times out.
func TestConcludeEvidenceWaitHasNoDeadline(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	ro.Spec.Replicas = new(int32(2))
	ro.Spec.ProgressDeadlineSeconds = new(int32(60))
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{{SetWeight: new(int32(50))}}}
	stable, canary := concludeSet("aaa", 1, 1), concludeSet("bbb", 1, 1)
	st := v1alpha1.RolloutStatus{StableRS: "aaa", CurrentPodHash: "bbb", CurrentStepIndex: new(int32(0)),
		Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2} // as the pods stand: no progress
	st.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReplicaSetUpdatedReason,
		LastUpdateTime: metav1.NewTime(t0), LastTransitionTime: metav1.NewTime(t0)}}
	ro.Status = *st.DeepCopy()
	later := t0.Add(10 * time.Minute)
	c := Conclude(Ending{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, NewRS: canary, Status: *st.DeepCopy(), Now: later})
	if cond := FindCondition(c.Status.Conditions, v1alpha1.RolloutProgressing); cond.Reason != v1alpha1.TimedOutReason {
		t.Fatalf("without the wait the deadline runs out: %+v", cond)
	}
	st.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{Waiting: "waiting for evidence before promotion"}
	ro.Status = *st.DeepCopy()
	c = Conclude(Ending{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, NewRS: canary, Status: st, Now: later})
	if cond := FindCondition(c.Status.Conditions, v1alpha1.RolloutProgressing); cond.Reason == v1alpha1.TimedOutReason || len(c.Deadline) > 0 {
		t.Fatalf("waiting for evidence, the deadline ran out: %+v %v", cond, c.Deadline)
	}
	if c.Status.Phase != v1alpha1.RolloutPhaseProgressing || c.Status.Message != "waiting for evidence before promotion" {
		t.Fatalf("phase %s message %q", c.Status.Phase, c.Status.Message)
	}
}
