package rollout

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/restart"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// ReasonRolloutRestarting is the Event reason for each pod a restart evicts.
const ReasonRolloutRestarting = "RolloutRestarting"

// restartPods carries out spec.restartAt: it evicts (through the Eviction
// API, so PodDisruptionBudgets apply) the next pods created before it and
// reports whether none are left. A PDB refusal just waits for a later turn.
func (r *Reconciler) restartPods(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles) (bool, error) {
	if ro.Spec.RestartAt == nil || (ro.Status.RestartedAt != nil && ro.Status.RestartedAt.Equal(ro.Spec.RestartAt)) {
		return true, nil
	}
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
	var pods []restart.Pod
	byName := map[string]*corev1.Pod{}
	wanted := int32(0)
	for set, prio := range priority {
		if set.Spec.Replicas != nil {
			wanted += *set.Spec.Replicas
		}
		list, err := r.podsOf(ctx, set)
		if err != nil {
			return false, err
		}
		for i := range list {
			p := &list[i]
			byName[p.Name] = p
			ready, since := podReadySince(p)
			pods = append(pods, restart.Pod{Name: p.Name, Created: p.CreationTimestamp.Time, Ready: ready, ReadySince: since,
				Terminating: p.DeletionTimestamp != nil, Priority: prio})
		}
	}
	d := restart.Plan(restart.Input{
		Pods:      pods,
		RestartAt: ro.Spec.RestartAt.Time,
		Replicas:  ro.ReplicasOrDefault(),
		Wanted:    wanted,
		MaxUnavailable: restart.MaxUnavailable(ro.ReplicasOrDefault(), ro.Spec.Strategy.BlueGreen == nil,
			ro.MaxSurgeOrDefault(), ro.MaxUnavailableOrDefault()),
		MinReady: time.Duration(ro.Spec.MinReadySeconds) * time.Second,
		Now:      r.Now(),
	})
	evicted := 0
	for _, name := range d.Order {
		if evicted >= d.Batch {
			break
		}
		p := byName[name]
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		err := r.Client.SubResource("eviction").Create(ctx, p, ev)
		switch {
		case err == nil:
			evicted++
			r.event(ro, false, ReasonRolloutRestarting, fmt.Sprintf("Evicted pod %s for the restart requested at %s", p.Name, ro.Spec.RestartAt.UTC().Format("2006-01-02T15:04:05Z")))
		case apierrors.IsNotFound(err):
			evicted++ // gone already: its place in the batch is taken
		case apierrors.IsTooManyRequests(err):
			// A PodDisruptionBudget says not now: the next may go instead.
		default:
			return false, fmt.Errorf("evict pod %s for restart: %w", p.Name, err)
		}
	}
	return d.Done, nil
}

// podReadySince reads a pod's Ready condition and when it last changed.
func podReadySince(p *corev1.Pod) (bool, time.Time) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// restartRecheckAfter is when an unfinished restart is looked at again if
// nothing else happens first: at restartAt for `restart --in`, else after
// restartRecheck.
func (r *Reconciler) restartRecheckAfter(ro *v1alpha1.Rollout) time.Duration {
	if ro.Spec.RestartAt == nil {
		return restartRecheck
	}
	return restart.RecheckAfter(ro.Spec.RestartAt.Time, r.Now(), restartRecheck)
}
