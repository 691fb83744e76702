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
	if !restart.Due(ro) {
		return true, nil
	}
	pods := map[*appsv1.ReplicaSet][]corev1.Pod{}
	byName := map[string]*corev1.Pod{}
	for _, set := range rs.All() {
		list, err := r.podsOf(ctx, set)
		if err != nil {
			return false, err
		}
		pods[set] = list
		for i := range list {
			byName[list[i].Name] = &list[i]
		}
	}
	d := restart.ForRollout(ro, rs, pods, r.Now())
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

// restartRecheckAfter is when an unfinished restart is looked at again if
// nothing else happens first: at restartAt for `restart --in`, else after
// restartRecheck.
func (r *Reconciler) restartRecheckAfter(ro *v1alpha1.Rollout) time.Duration {
	if ro.Spec.RestartAt == nil {
		return restartRecheck
	}
	return restart.RecheckAfter(ro.Spec.RestartAt.Time, r.Now(), restartRecheck)
}
