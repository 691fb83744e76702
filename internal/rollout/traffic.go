package rollout

import (
	"context"

	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/weights"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
	"github.com/aviary-rollouts/aviary/internal/traffic/smi"
	"github.com/aviary-rollouts/aviary/internal/traffic/traefik"
)

// routers are the Rollout's traffic routers in Argo Rollouts' order; nil
// without trafficRouting.
func (r *Reconciler) routers(ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet) traffic.Routers {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil
	}
	var out traffic.Routers
	record := func(reason, msg string) { r.event(ro, false, reason, msg) }
	warn := func(reason, msg string) {
		r.event(ro, true, reason, msg)
		if r.Log != nil {
			r.Log.Warn(msg, "rollout", ro.Namespace+"/"+ro.Name, "reason", reason)
		}
	}
	if c.TrafficRouting.Istio != nil {
		out = append(out, &istio.Router{Client: r.Client, Rollout: ro, Recorder: record, Warn: warn, APIVersion: r.IstioAPIVersion, ReplicaSets: sets})
	}
	if c.TrafficRouting.Nginx != nil {
		out = append(out, &nginx.Router{Client: r.Client, Rollout: ro, Recorder: record})
	}
	if c.TrafficRouting.SMI != nil {
		out = append(out, &smi.Router{Client: r.Client, Rollout: ro, Recorder: record, APIVersion: r.SMIAPIVersion})
	}
	if c.TrafficRouting.Traefik != nil {
		out = append(out, &traefik.Router{Client: r.Client, Rollout: ro, Recorder: record})
	}
	// Gateway API is built in under its plugin's name; validation refuses
	// any other plugin, so nothing else can be configured here.
	if _, ok := c.TrafficRouting.Plugins[gatewayapi.ConfigKey]; ok {
		out = append(out, &gatewayapi.Router{Client: r.Client, Rollout: ro, Recorder: record})
	}
	return out
}

// reconcileTraffic gives the routers the weight the planner's status calls
// for (internal/plan/weights: weight never leads canary readiness, and
// moves only when the stable can take the rest) and records it in
// status.canary.weights.
//
// stableSelects is the hash the stable Service selects: after a promotion
// the weight comes off the canary only once it selects the new stable, or
// the requests would go back to the old pods.
func (r *Reconciler) reconcileTraffic(ctx context.Context, ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, rs roles.Roles, stableSelects string) error {
	routers := r.routers(ro, rs.All())
	if len(routers) == 0 {
		// Without routing there are no weights to report, as in Argo
		// Rollouts; the status no longer claims the last ones routed.
		st.Canary.Weights = nil
		return nil
	}
	view := ro.DeepCopy()
	view.Status = *st
	c, err := replicas.CanaryFromRollout(view)
	if err != nil {
		return nil // validation reports it
	}
	sets := replicas.ReplicaSets{New: replicas.FromReplicaSet(rs.New), Stable: replicas.FromReplicaSet(rs.Stable)}
	for _, o := range rs.Others {
		sets.Others = append(sets.Others, *replicas.FromReplicaSet(o))
	}
	d := weights.Decide(weights.Input{Canary: c, Sets: sets, Current: st.Canary.Weights})
	if st.StableRS != "" && st.StableRS == st.CurrentPodHash && ro.Spec.Strategy.Canary.StableService != "" && stableSelects != st.StableRS {
		d.MayMove = false
	}
	if d.RemoveManagedRoutes {
		if err := routers.RemoveManagedRoutes(ctx); err != nil {
			return routingError(ro, err)
		}
	}
	if !d.MayMove {
		return nil
	}
	if idx := st.CurrentStepIndex; idx != nil && int(*idx) < len(ro.Spec.Strategy.Canary.Steps) && !st.Abort {
		routes := weights.RoutesAt(ro.Spec.Strategy.Canary.Steps, int(*idx))
		for i := range routes.Headers {
			if err := routers.SetHeaderRoute(ctx, &routes.Headers[i]); err != nil {
				return routingError(ro, err)
			}
		}
		for i := range routes.Mirrors {
			if err := routers.SetMirrorRoute(ctx, &routes.Mirrors[i]); err != nil {
				return routingError(ro, err)
			}
		}
	}
	if d.ResetFirst {
		if err := routers.SetWeight(ctx, d.Desired, d.Additional...); err != nil {
			return routingError(ro, err)
		}
	}
	if err := routers.UpdateHash(ctx, d.CanaryHash, d.StableHash, d.Additional...); err != nil {
		if errors.Is(err, traffic.ErrWait) {
			// Moving the weight before the subsets follow the hashes
			// would send it to the wrong pods; the ReplicaSet's next
			// status change brings the next reconcile.
			return nil
		}
		return routingError(ro, err)
	}
	if err := routers.SetWeight(ctx, d.Desired, d.Additional...); err != nil {
		return routingError(ro, err)
	}
	prev := int32(0)
	if st.Canary.Weights != nil {
		prev = st.Canary.Weights.Canary.Weight
	}
	cs := ro.Spec.Strategy.Canary
	st.Canary.Weights = &v1alpha1.TrafficWeights{
		Canary:     v1alpha1.WeightDestination{Weight: d.Desired, ServiceName: cs.CanaryService, PodTemplateHash: d.CanaryHash},
		Stable:     v1alpha1.WeightDestination{Weight: d.Stable, ServiceName: cs.StableService, PodTemplateHash: d.StableHash},
		Additional: d.Additional,
	}
	if prev != d.Desired {
		r.event(ro, false, "TrafficWeightUpdated", fmt.Sprintf("Traffic weight updated from %d to %d", prev, d.Desired))
	}
	return nil
}

// routingError turns a missing router object into InvalidSpec naming it;
// anything else is retried.
func routingError(ro *v1alpha1.Rollout, err error) error {
	if se := (*traffic.SpecError)(nil); errors.As(err, &se) {
		return &invalidSpec{msg: se.Error()}
	}
	return fmt.Errorf("route traffic for rollout %s/%s: %w", ro.Namespace, ro.Name, err)
}
