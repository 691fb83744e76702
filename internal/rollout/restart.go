package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/restart"
)

// restartPods carries out spec.restartAt: it evicts (through the Eviction
// API, so PodDisruptionBudgets apply) the next pods created before it and
// reports whether none are left. A PDB refusal just waits for a later turn.
func (r *Reconciler) restartPods(ctx context.Context, ro *v1alpha1.Rollout, rs roles) (bool, error) {
	if ro.Spec.RestartAt == nil || (ro.Status.RestartedAt != nil && ro.Status.RestartedAt.Equal(ro.Spec.RestartAt)) {
		return true, nil
	}
	priority := map[*appsv1.ReplicaSet]int{}
	for _, o := range rs.others {
		priority[o] = 0
	}
	if rs.stableRS != nil {
		priority[rs.stableRS] = 1
	}
	if rs.newRS != nil && rs.newRS != rs.stableRS {
		priority[rs.newRS] = 2
	}
	var pods []restart.Pod
	byName := map[string]*corev1.Pod{}
	for set, prio := range priority {
		list, err := r.podsOf(ctx, set)
		if err != nil {
			return false, err
		}
		for i := range list {
			p := &list[i]
			byName[p.Name] = p
			pods = append(pods, restart.Pod{Name: p.Name, Created: p.CreationTimestamp.Time, Available: podReady(p),
				Terminating: p.DeletionTimestamp != nil, Priority: prio})
		}
	}
	// The strategy's maxUnavailable (blue-green's exists for restarts
	// alone), at least one pod at a time.
	maxUnavailable := int32(1)
	if f, err := replicas.CanaryFenceposts(ro.ReplicasOrDefault(), ro.MaxSurgeOrDefault(), ro.MaxUnavailableOrDefault()); err == nil {
		maxUnavailable = max(f.MaxUnavailable, 1)
	}
	evict, done := restart.Plan(pods, ro.Spec.RestartAt.Time, maxUnavailable)
	for _, name := range evict {
		p := byName[name]
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		err := r.Client.SubResource("eviction").Create(ctx, p, ev)
		switch {
		case err == nil:
			r.event(ro, false, "RolloutRestarting", fmt.Sprintf("Evicted pod %s for the restart requested at %s", p.Name, ro.Spec.RestartAt.UTC().Format("2006-01-02T15:04:05Z")))
		case apierrors.IsTooManyRequests(err), apierrors.IsNotFound(err):
			// A PodDisruptionBudget says not now, or the pod is gone already.
		default:
			return false, fmt.Errorf("evict pod %s for restart: %w", p.Name, err)
		}
	}
	return done, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
