package rollout

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
	"github.com/aviary-rollouts/aviary/internal/traffic/ambassador"
	"github.com/aviary-rollouts/aviary/internal/traffic/apisix"
	"github.com/aviary-rollouts/aviary/internal/traffic/appmesh"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
	routerplugin "github.com/aviary-rollouts/aviary/internal/traffic/plugin"
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
	if c.TrafficRouting.ALB != nil {
		out = append(out, &alb.Router{Client: r.Client, Rollout: ro, Recorder: record})
	}
	if c.TrafficRouting.SMI != nil {
		out = append(out, &smi.Router{Client: r.Client, Rollout: ro, Recorder: record, APIVersion: r.SMIAPIVersion})
	}
	if c.TrafficRouting.Ambassador != nil {
		out = append(out, &ambassador.Router{Client: r.Client, Rollout: ro, Events: traffic.Events{Recorder: record, Warn: warn}, Requeue: a.requeueWithin,
			APIVersion: r.AmbassadorAPIVersion, Now: r.Now})
	}
	if c.TrafficRouting.AppMesh != nil {
		out = append(out, &appmesh.Router{Client: r.Client, Rollout: ro, Events: traffic.Events{Recorder: record, Warn: warn}, Version: r.AppMeshCRDVersion})
	}
	if c.TrafficRouting.Traefik != nil {
		out = append(out, &traefik.Router{Client: r.Client, Rollout: ro, Recorder: record})
	}
	if c.TrafficRouting.Apisix != nil {
		out = append(out, &apisix.Router{Client: r.Client, Rollout: ro, Events: traffic.Events{Recorder: record, Warn: warn}})
	}
	// Plugins come last, by name (Argo Rollouts takes them in map order).
	// The Gateway API is built in under its plugin's name, unless
	// argo-rollouts-config lists that plugin: listing it is asking for the
	// binary (docs/plugins.md).
	for _, name := range slices.Sorted(maps.Keys(c.TrafficRouting.Plugins)) {
		if name == gatewayapi.ConfigKey && !r.TrafficPlugins.Has(name) {
			out = append(out, &gatewayapi.Router{Client: r.Client, Rollout: ro, Recorder: record})
			continue
		}
		out = append(out, &routerplugin.Router{Host: r.TrafficPlugins, Name: name, Rollout: ro})
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
