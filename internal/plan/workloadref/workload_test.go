package workloadref

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestScaleDown(t *testing.T) {
	healthy := v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "a", AvailableReplicas: 3, ReadyReplicas: 3}
	updating := v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b", AvailableReplicas: 1, ReadyReplicas: 1}
	three, zero := new(int32(3)), new(int32(0))
	for _, c := range []struct {
		name     string
		mode     string
		st       v1alpha1.RolloutStatus
		current  *int32
		revision string
		want     int32
		due      bool
	}{
		{"never", "never", healthy, three, "1", 0, false},
		{"onsuccess, healthy", "onsuccess", healthy, three, "1", 0, true},
		{"onsuccess, already down", "onsuccess", healthy, zero, "1", 0, false},
		{"onsuccess, not healthy yet", "onsuccess", updating, three, "1", 0, false},
		{"progressively follows ready pods", "progressively", updating, three, "1", 2, true},
		{"progressively, unset replicas count as 1", "progressively", healthy, nil, "1", 0, true},
		{"a later revision leaves it alone", "onsuccess", healthy, three, "2", 0, false},
	} {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Replicas = new(int32(3))
		ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{Kind: "Deployment", Name: "web", ScaleDown: c.mode}
		st := c.st
		got, due := ScaleDown(ro, &st, c.current, c.revision)
		if got != c.want || due != c.due {
			t.Errorf("%s: got %d, %v; want %d, %v", c.name, got, due, c.want, c.due)
		}
	}
}
