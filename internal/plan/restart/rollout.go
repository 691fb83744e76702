package restart

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// Due reports whether spec.restartAt asks for a restart not yet done.
func Due(ro *v1alpha1.Rollout) bool {
	return ro.Spec.RestartAt != nil && (ro.Status.RestartedAt == nil || !ro.Status.RestartedAt.Equal(ro.Spec.RestartAt))
}

// ForRollout decides the next evictions of a restart from the live pods of
// each of the Rollout's ReplicaSets (pods[set]): old ReplicaSets' pods go
// first, then the stable's, the new one's last, so the version users are
// moving to is disturbed least.
func ForRollout(ro *v1alpha1.Rollout, rs roles.Roles, pods map[*appsv1.ReplicaSet][]corev1.Pod, now time.Time) Decision {
	priority := map[*appsv1.ReplicaSet]int{}
	for _, o := range rs.Others {
		priority[o] = 0
	}
	if rs.Stable != nil {
		priority[rs.Stable] = 1
	}
	if rs.New != nil && rs.New != rs.Stable {
		priority[rs.New] = 2
	}
	var in []Pod
	wanted := int32(0)
	for set, prio := range priority {
		if set.Spec.Replicas != nil {
			wanted += *set.Spec.Replicas
		}
		for i := range pods[set] {
			p := &pods[set][i]
			ready, since := podReady(p)
			in = append(in, Pod{Name: p.Name, Created: p.CreationTimestamp.Time, Ready: ready, ReadySince: since,
				Terminating: p.DeletionTimestamp != nil, Priority: prio})
		}
	}
	return Plan(Input{
		Pods:      in,
		RestartAt: ro.Spec.RestartAt.Time,
		Replicas:  ro.ReplicasOrDefault(),
		Wanted:    wanted,
		MaxUnavailable: MaxUnavailable(ro.ReplicasOrDefault(), ro.Spec.Strategy.BlueGreen == nil,
			ro.MaxSurgeOrDefault(), ro.MaxUnavailableOrDefault()),
		MinReady: time.Duration(ro.Spec.MinReadySeconds) * time.Second,
		Now:      now,
	})
}

// podReady reads a pod's Ready condition and when it last changed.
func podReady(p *corev1.Pod) (bool, time.Time) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}
