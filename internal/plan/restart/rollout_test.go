package restart

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

func TestDue(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	later := metav1.NewTime(at.Add(time.Minute))
	for _, c := range []struct {
		name               string
		restartAt, restart *metav1.Time
		want               bool
	}{
		{"never asked", nil, nil, false},
		{"asked, not done", &at, nil, true},
		{"done", &at, &at, false},
		{"asked again", &later, &at, true},
	} {
		ro := &v1alpha1.Rollout{}
		ro.Spec.RestartAt, ro.Status.RestartedAt = c.restartAt, c.restart
		if got := Due(ro); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// The old ReplicaSets' pods are restarted first, the new one's last.
func TestForRolloutEvictsOldestRoleFirst(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ro := &v1alpha1.Rollout{}
	ro.Spec.Replicas = new(int32(3))
	ro.Spec.RestartAt = &metav1.Time{Time: now.Add(-time.Minute)}
	set := func(name string, n int32) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.ReplicaSetSpec{Replicas: &n}}
	}
	pod := func(name string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}}}
	}
	newRS, stable, old := set("new", 1), set("stable", 2), set("old", 1)
	rs := roles.Roles{New: newRS, Stable: stable, Others: []*appsv1.ReplicaSet{old}}
	d := ForRollout(ro, rs, map[*appsv1.ReplicaSet][]corev1.Pod{
		newRS: {pod("new-1")}, stable: {pod("stable-1"), pod("stable-2")}, old: {pod("old-1")},
	}, now)
	if len(d.Order) != 4 || d.Order[0] != "old-1" || d.Order[3] != "new-1" || d.Done {
		t.Fatalf("order %v done %v: want old-1 first and new-1 last, not done", d.Order, d.Done)
	}
}
