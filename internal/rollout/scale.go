package rollout

import (
	"context"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/scaledown"
)

// scaleDownOld scales down old ReplicaSets as internal/plan/scaledown
// decides, for a traffic-routed canary and for blue-green: the previous
// stable is kept for scaleDownDelaySeconds, recorded in its
// scale-down-deadline annotation (so a restarted controller keeps the same
// deadline), then scaled to 0; abandoned intermediate ReplicaSets go at
// once. It returns when the next deadline falls due.
func (r *Reconciler) scaleDownOld(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles, now time.Time) (time.Duration, error) {
	plan := scaledown.ForRollout(ro, rs, now)
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.Others {
		byName[o.Name] = o
	}
	for _, a := range plan.Actions {
		o := byName[a.Name]
		if o == nil {
			continue
		}
		var patch string
		if a.Deadline != "" {
			patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"replicas":%d}}`, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, a.Deadline, a.Replicas)
		} else if a.Replicas != roles.SpecReplicas(o) {
			patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:null}},"spec":{"replicas":%d}}`, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, a.Replicas)
		} else {
			continue
		}
		from := roles.SpecReplicas(o)
		if err := r.Client.Patch(ctx, o, rawMerge(patch)); err != nil {
			return 0, fmt.Errorf("scale down old ReplicaSet %s: %w", o.Name, err)
		}
		if a.Replicas != from {
			ev := rules.Event{Reason: ReasonScalingReplicaSet, Message: scalingMessage(o.Name, strconv.FormatInt(roles.Revision(o), 10), from, a.Replicas)}
			if err := r.journal(ctx, ro, []rules.Event{ev}); err != nil {
				return 0, err
			}
		}
	}
	return plan.RequeueAfter, nil
}

// holdAbortedNew applies abortScaleDownDelaySeconds to an aborted canary's
// new ReplicaSet (internal/plan/scaledown.PlanNew): once the stable is
// fully available a scale-down-deadline is written, and the ReplicaSet
// keeps its pods until then, so a router still draining requests to them
// is not cut off. It takes the ReplicaSet out of scales while it is held
// and returns when the deadline falls due.
func (r *Reconciler) holdAbortedNew(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles, scales map[*appsv1.ReplicaSet]int32, now time.Time) (time.Duration, error) {
	if !scaledown.HeldNew(rs, scales) {
		return 0, nil
	}
	newRS := rs.New
	plan := scaledown.ForAbortedNew(ro, rs, scales[newRS], now)
	key := v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey
	var patch string
	switch {
	case plan.Deadline != "":
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, plan.Deadline)
	case plan.ClearDeadline:
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, key)
	}
	if patch != "" {
		if err := r.Client.Patch(ctx, newRS, rawMerge(patch)); err != nil {
			return 0, fmt.Errorf("mark aborted ReplicaSet %s for scale-down: %w", newRS.Name, err)
		}
	}
	if plan.Hold {
		delete(scales, newRS)
	} else {
		scales[newRS] = plan.Replicas
	}
	return plan.RequeueAfter, nil
}
