package validation

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
)

// router is one configured traffic router and what it can carry out
// (reference §3.12; header routes on NGINX are an Aviary addition).
type router struct {
	path                 *field.Path
	header, mirror, maxW bool
	// additional: the router takes experiment templates' weights as
	// destinations of their own.
	additional bool
}

// routers lists the routers trafficRouting configures.
func routers(tr *v1alpha1.RolloutTrafficRouting, p *field.Path) []router {
	var out []router
	add := func(set bool, child string, header, mirror, maxW, additional bool) {
		if set {
			out = append(out, router{path: p.Child(child), header: header, mirror: mirror, maxW: maxW, additional: additional})
		}
	}
	add(tr.Istio != nil, "istio", true, true, false, true)
	add(tr.Nginx != nil, "nginx", true, false, true, false)
	add(tr.ALB != nil, "alb", true, false, false, true)
	add(tr.SMI != nil, "smi", false, false, false, true)
	add(tr.Ambassador != nil, "ambassador", false, false, false, false)
	add(tr.AppMesh != nil, "appMesh", false, false, false, false)
	add(tr.Traefik != nil, "traefik", false, false, false, false)
	add(tr.Apisix != nil, "apisix", true, false, false, false)
	for name := range tr.Plugins {
		out = append(out, router{path: p.Child("plugins").Key(name), header: true, mirror: true, maxW: true, additional: true})
	}
	return out
}

// trafficRouting checks the router configuration and that every router
// can carry out what the steps ask of it: a step one router ignores would
// split traffic differently than the user wrote, silently.
func trafficRouting(ro *v1alpha1.Rollout, p *field.Path, opts Options) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	tr := c.TrafficRouting
	if tr == nil {
		return nil
	}
	tp := p.Child("trafficRouting")
	rs := routers(tr, tp)
	var errs field.ErrorList
	if len(rs) == 0 {
		return append(errs, field.Required(tp, `configure a traffic router: nginx, alb, istio, traefik, smi, plugins["argoproj-labs/gatewayAPI"] or another plugin`))
	}
	// Other plugins' configurations are theirs to check: each gets the
	// whole Rollout and reads its own entry.
	if !opts.GatewayAPIPlugin {
		errs = append(errs, gatewayapi.Validate(ro)...)
	}
	errs = append(errs, nginx(tr.Nginx, tp.Child("nginx"))...)
	errs = append(errs, istio(tr.Istio, tp.Child("istio"))...)
	errs = append(errs, alb(tr.ALB, tp.Child("alb"))...)
	errs = append(errs, pingPong(c, p)...)
	if tr.Apisix != nil && (tr.Apisix.Route == nil || tr.Apisix.Route.Name == "") {
		errs = append(errs, field.Required(tp.Child("apisix", "route", "name"), "name the ApisixRoute whose rules send requests to the stable and canary Services"))
	}
	if am := tr.AppMesh; am != nil {
		ap := tp.Child("appMesh")
		if am.VirtualService == nil || am.VirtualService.Name == "" {
			errs = append(errs, field.Required(ap.Child("virtualService", "name"), "name the VirtualService whose VirtualRouter splits the traffic"))
		}
		g := am.VirtualNodeGroup
		if g == nil || g.CanaryVirtualNodeRef == nil || g.CanaryVirtualNodeRef.Name == "" {
			errs = append(errs, field.Required(ap.Child("virtualNodeGroup", "canaryVirtualNodeRef", "name"), "name the VirtualNode that selects the canary pods"))
		}
		if g == nil || g.StableVirtualNodeRef == nil || g.StableVirtualNodeRef.Name == "" {
			errs = append(errs, field.Required(ap.Child("virtualNodeGroup", "stableVirtualNodeRef", "name"), "name the VirtualNode that selects the stable pods"))
		}
	}
	if tr.Traefik != nil && tr.Traefik.WeightedTraefikServiceName == "" {
		errs = append(errs, field.Required(tp.Child("traefik", "weightedTraefikServiceName"), "name the weighted TraefikService whose stable and canary entries get the weights"))
	}
	for _, r := range rs {
		if tr.MaxTrafficWeight != nil && !r.maxW {
			errs = append(errs, field.Forbidden(tp.Child("maxTrafficWeight"),
				fmt.Sprintf("%s weights are out of 100; remove maxTrafficWeight (only nginx and plugins, the Gateway API among them, take another total)", r.path)))
		}
	}
	for i, step := range c.Steps {
		sp := p.Child("steps").Index(i)
		if h := step.SetHeaderRoute; h != nil && tr.ALB != nil {
			for j, m := range h.Match {
				if v := m.HeaderValue; v == nil || v.Exact == "" || v.Prefix != "" || v.Regex != "" {
					errs = append(errs, field.Invalid(sp.Child("setHeaderRoute", "match").Index(j).Child("headerValue"), v,
						"alb matches header values exactly only: set exact, and no prefix or regex"))
				}
			}
		}
		for _, r := range rs {
			if step.SetHeaderRoute != nil && !r.header {
				errs = append(errs, field.Forbidden(sp.Child("setHeaderRoute"),
					fmt.Sprintf("%s cannot route by header; use nginx, alb, istio, the Gateway API or another plugin for header routes, or remove the step", r.path)))
			}
			if step.SetMirrorRoute != nil && !r.mirror {
				errs = append(errs, field.Forbidden(sp.Child("setMirrorRoute"),
					fmt.Sprintf("%s cannot mirror requests; use istio, the Gateway API or another plugin for mirror routes, or remove the step", r.path)))
			}
			if step.Experiment == nil || r.additional {
				continue
			}
			for j, t := range step.Experiment.Templates {
				if t.Weight != nil {
					errs = append(errs, field.Forbidden(sp.Child("experiment", "templates").Index(j).Child("weight"),
						fmt.Sprintf("%s cannot route to an experiment template's Service; use istio, smi, alb, the Gateway API or another plugin for experiment weights, or remove the weight", r.path)))
				}
			}
		}
	}
	return errs
}

func nginx(n *v1alpha1.NginxTrafficRouting, p *field.Path) field.ErrorList {
	if n == nil {
		return nil
	}
	switch {
	case n.StableIngress == "" && len(n.StableIngresses) == 0:
		return field.ErrorList{field.Required(p.Child("stableIngress"), "name the Ingress that routes to the stable Service (or list several in stableIngresses)")}
	case n.StableIngress != "" && len(n.StableIngresses) > 0:
		return field.ErrorList{field.Forbidden(p.Child("stableIngresses"), "set stableIngress or stableIngresses, not both")}
	}
	return nil
}

func alb(a *v1alpha1.ALBTrafficRouting, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case a.Ingress == "" && len(a.Ingresses) == 0:
		errs = append(errs, field.Required(p.Child("ingress"), "name the Ingress whose actions annotation gets the weights (or list several in ingresses)"))
	case a.Ingress != "" && len(a.Ingresses) > 0:
		errs = append(errs, field.Forbidden(p.Child("ingresses"), "set ingress or ingresses, not both"))
	}
	if a.ServicePort <= 0 {
		errs = append(errs, field.Required(p.Child("servicePort"), "the Service port the target groups forward to"))
	}
	if s := a.StickinessConfig; s != nil && s.Enabled && (s.DurationSeconds < 1 || s.DurationSeconds > 604800) {
		errs = append(errs, field.Invalid(p.Child("stickinessConfig", "durationSeconds"), s.DurationSeconds, "must be 1 to 604800 seconds (7 days), the range AWS accepts"))
	}
	return errs
}

// pingPong checks the ping-pong Services: both named, distinct, and only
// with the routers that swap them (ALB, which then needs rootService, and
// Istio).
func pingPong(c *v1alpha1.CanaryStrategy, p *field.Path) field.ErrorList {
	pp := c.PingPong
	if pp == nil {
		return nil
	}
	var errs field.ErrorList
	pf := p.Child("pingPong")
	if pp.PingService == "" {
		errs = append(errs, field.Required(pf.Child("pingService"), "name the Service that takes the stable and canary roles in turn with pongService"))
	}
	if pp.PongService == "" {
		errs = append(errs, field.Required(pf.Child("pongService"), "name the Service that takes the stable and canary roles in turn with pingService"))
	}
	if pp.PingService != "" && pp.PingService == pp.PongService {
		errs = append(errs, field.Invalid(pf.Child("pongService"), pp.PongService, "must differ from pingService"))
	}
	tr := c.TrafficRouting
	if tr.ALB == nil && tr.Istio == nil {
		errs = append(errs, field.Forbidden(pf, "ping-pong Services work with the alb and istio traffic routers only"))
	}
	if tr.ALB != nil && tr.ALB.RootService == "" {
		errs = append(errs, field.Required(p.Child("trafficRouting", "alb", "rootService"), "with pingPong, name the Service whose Ingress path carries the weighted action"))
	}
	return errs
}

func istio(is *v1alpha1.IstioTrafficRouting, p *field.Path) field.ErrorList {
	if is == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case is.VirtualService == nil && len(is.VirtualServices) == 0:
		errs = append(errs, field.Required(p.Child("virtualService"), "name the VirtualService whose routes get the weights (or list several in virtualServices)"))
	case is.VirtualService != nil && len(is.VirtualServices) > 0:
		errs = append(errs, field.Forbidden(p.Child("virtualServices"), "set virtualService or virtualServices, not both"))
	case is.VirtualService != nil && is.VirtualService.Name == "":
		errs = append(errs, field.Required(p.Child("virtualService", "name"), "name the VirtualService"))
	}
	for i, vs := range is.VirtualServices {
		if vs.Name == "" {
			errs = append(errs, field.Required(p.Child("virtualServices").Index(i).Child("name"), "name the VirtualService"))
		}
	}
	if dr := is.DestinationRule; dr != nil {
		dp := p.Child("destinationRule")
		for _, f := range []struct{ child, value string }{{"name", dr.Name}, {"canarySubsetName", dr.CanarySubsetName}, {"stableSubsetName", dr.StableSubsetName}} {
			if f.value == "" {
				errs = append(errs, field.Required(dp.Child(f.child), "required with destinationRule"))
			}
		}
		if dr.CanarySubsetName != "" && dr.CanarySubsetName == dr.StableSubsetName {
			errs = append(errs, field.Invalid(dp.Child("stableSubsetName"), dr.StableSubsetName, "must differ from canarySubsetName: one subset cannot be pinned to both versions"))
		}
	}
	return errs
}
