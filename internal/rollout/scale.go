package rollout

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/scaledown"
)

// desiredScales is the replica count each ReplicaSet should have now, and
// whether the new and stable ReplicaSets are already at the counts the
// current step calls for (sizes reached, pods available, nothing left on
// other ReplicaSets).
func desiredScales(ro *v1alpha1.Rollout, rs roles.Roles) (map[*appsv1.ReplicaSet]int32, bool) {
	c, err := replicas.CanaryFromRollout(ro)
	if err != nil {
		// Bad maxSurge/maxUnavailable: validation reports it; scale nothing.
		return nil, false
	}
	sets := replicas.ReplicaSets{New: replicas.FromReplicaSet(rs.New), Stable: replicas.FromReplicaSet(rs.Stable)}
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.Others {
		sets.Others = append(sets.Others, *replicas.FromReplicaSet(o))
		byName[o.Name] = o
	}
	weights := ro.Status.Canary.Weights
	counts := c.DesiredCounts(sets, weights)
	out := map[*appsv1.ReplicaSet]int32{}
	if rs.New != nil {
		out[rs.New] = counts.Canary
	}
	if rs.Stable != nil && rs.Stable != rs.New {
		out[rs.Stable] = counts.Stable
	}
	if c.TrafficRouted {
		// Old ReplicaSets wait out scaleDownDelaySeconds (the router may
		// still be draining traffic to them); applied by scaleDownOld.
		for _, o := range rs.Others {
			out[o] = roles.SpecReplicas(o)
		}
	} else {
		for _, s := range replicas.BasicCanaryOtherScaleDowns(c.Replicas, c.Fenceposts.MaxUnavailable, sets) {
			if o := byName[s.Name]; o != nil {
				out[o] = s.Replicas
			}
		}
	}
	if rs.Stable == nil || rs.Stable == rs.New {
		// One ReplicaSet carries everything (first deploy, or fully
		// promoted): done when all its pods are up and nothing else serves.
		at := rs.New != nil && roles.SpecReplicas(rs.New) == counts.Canary && rs.New.Status.AvailableReplicas >= counts.Canary
		for _, o := range rs.Others {
			at = at && o.Status.AvailableReplicas == 0
		}
		return out, at
	}
	return out, c.AtDesiredReplicaCounts(sets, weights)
}

// scaleDownOld scales down old ReplicaSets as internal/plan/scaledown
// decides, for a traffic-routed canary and for blue-green: the previous
// stable is kept for scaleDownDelaySeconds, recorded in its
// scale-down-deadline annotation (so a restarted controller keeps the same
// deadline), then scaled to 0; abandoned intermediate ReplicaSets go at
// once. It returns when the next deadline falls due.
func (r *Reconciler) scaleDownOld(ctx context.Context, ro *v1alpha1.Rollout, rs roles.Roles, now time.Time) (time.Duration, error) {
	if len(rs.Others) == 0 {
		return 0, nil
	}
	in := scaledown.Old{Now: now, FullyPromoted: ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash,
		Delay: ro.ScaleDownDelaySecondsOrDefault()}
	// referenced reports a ReplicaSet a router or Service still sends
	// requests to; it is never scaled down.
	var referenced func(hash string) bool
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		in.RevisionLimit, in.MaxScaleDown = bg.ScaleDownDelayRevisionLimit, math.MaxInt32
		referenced = func(hash string) bool {
			return hash == ro.Status.BlueGreen.ActiveSelector || hash == ro.Status.BlueGreen.PreviewSelector
		}
	} else {
		c, err := replicas.CanaryFromRollout(ro)
		if err != nil || !c.TrafficRouted {
			return 0, nil
		}
		in.DynamicStableScale, in.RevisionLimit = c.DynamicStableScale, ro.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit
		var available int32
		for _, set := range rs.All() {
			available += set.Status.AvailableReplicas
		}
		in.MaxScaleDown = available - (c.Replicas - c.Fenceposts.MaxUnavailable)
		weights := ro.Status.Canary.Weights
		referenced = func(hash string) bool {
			return weights != nil && (weights.Canary.PodTemplateHash == hash && weights.Canary.Weight > 0 || weights.Stable.PodTemplateHash == hash && weights.Stable.Weight > 0)
		}
	}
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.Others {
		mark, _ := scaledown.MarkOf(o.Annotations)
		hash := o.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		in.Sets = append(in.Sets, scaledown.OldRS{RS: *replicas.FromReplicaSet(o), Deadline: mark, Referenced: referenced(hash)})
		byName[o.Name] = o
	}
	plan := scaledown.PlanOld(in)
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
	newRS := rs.New
	if newRS == nil || newRS == rs.Stable {
		return 0, nil
	}
	desired, sized := scales[newRS]
	if !sized {
		return 0, nil
	}
	mark, _ := scaledown.MarkOf(newRS.Annotations)
	stableFull := rs.Stable != nil && rs.Stable.Status.AvailableReplicas >= ro.ReplicasOrDefault()
	plan := scaledown.PlanNew(scaledown.NewRS{Now: now, Policy: scaledown.AbortPolicyOf(ro), Aborted: ro.Status.Abort,
		HasStable: rs.Stable != nil, StableFullyAvailable: stableFull, Deadline: mark, Desired: desired})
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
