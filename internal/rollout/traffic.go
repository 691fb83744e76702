package rollout

import (
	"github.com/aviary-rollouts/aviary/internal/plan/rules"

	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
	"github.com/aviary-rollouts/aviary/internal/traffic/smi"
	"github.com/aviary-rollouts/aviary/internal/traffic/traefik"
)

// routers are the Rollout's traffic routers in Argo Rollouts' order; nil
// without trafficRouting. What they do is told as facts of the plan being
// applied (a), in the reconcile's one Event; without a plan, on its own.
func (r *Reconciler) routers(ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet, a *applying) traffic.Routers {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil
	}
	var out traffic.Routers
	tell := func(warning bool, reason, msg string) {
		if a != nil {
			a.did(&rules.Event{Warning: warning, Reason: reason, Message: msg})
			return
		}
		r.event(ro, warning, reason, msg)
	}
	record := func(reason, msg string) { tell(false, reason, msg) }
	warn := func(reason, msg string) { tell(true, reason, msg) } // logged as it is told
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

// routingError turns a missing router object into InvalidSpec naming it;
// anything else is retried.
func routingError(ro *v1alpha1.Rollout, err error) error {
	if se := (*traffic.SpecError)(nil); errors.As(err, &se) {
		return &invalidSpec{msg: se.Error()}
	}
	return fmt.Errorf("route traffic for rollout %s/%s: %w", ro.Namespace, ro.Name, err)
}
