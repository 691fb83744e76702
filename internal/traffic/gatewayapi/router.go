// Package gatewayapi routes a canary's traffic through Gateway API routes
// (gateway.networking.k8s.io HTTPRoute, GRPCRoute, TCPRoute and TLSRoute),
// built in where Argo Rollouts needs the argoproj-labs/gatewayAPI plugin.
// It reads that plugin's configuration from
// trafficRouting.plugins["argoproj-labs/gatewayAPI"], so existing Rollouts
// work unchanged, and behaves like the plugin:
//
//   - SetWeight sets backendRefs[].weight in every rule whose backendRefs
//     name both the canary and the stable Service: the canary gets the
//     weight, each experiment Service its own, the stable the rest of
//     maxTrafficWeight. Routes are labelled in progress while the canary has
//     traffic.
//   - SetHeaderRoute adds to each HTTPRoute and GRPCRoute that takes header
//     rules (httpRoute, grpcRoute, or a list entry with useHeaderRoutes) a
//     rule sending requests with the headers to the canary.
//   - SetMirrorRoute adds to each such HTTPRoute a rule mirroring matching
//     requests to the canary.
//
// Unlike the plugin it needs no ConfigMap: what it added is recorded on
// each route (AnnotationKey), which survives controller restarts. Routes
// are read and written as unstructured objects, so the Gateway API Go
// module is not a dependency and any served CRD version with these fields
// works. Decisions are pure functions of the route's object; the Router
// reads, applies them and writes only when something changed.
package gatewayapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Type is the router's type name, as the plugin reports it.
const Type = "GatewayAPI"

// Event reasons.
const (
	// ReasonUpdated is recorded when the router changes a route.
	ReasonUpdated = "GatewayAPIRouteUpdated"
	// ReasonUpdateError is recorded when a route update fails (the
	// plugin's reason).
	ReasonUpdateError = "GatewayAPIUpdateError"
)

// Router splits a canary's traffic through the Gateway API routes its
// plugin configuration names. It needs get, list and update on the route
// kinds it uses and get on Services (for experiment ports).
type Router struct {
	// Client reads and writes the routes and reads experiment Services.
	Client client.Client
	// Rollout is the Rollout being reconciled.
	Rollout *v1alpha1.Rollout
	// Recorder, when set, receives an event for each route changed and
	// each failed update.
	Recorder func(reason, msg string)
}

var _ traffic.Router = (*Router)(nil)

// Type is "GatewayAPI".
func (r *Router) Type() string { return Type }

// UpdateHash does nothing: routes name Services, not pod hashes.
func (r *Router) UpdateHash(context.Context, string, string, ...traffic.WeightDestination) error {
	return nil
}

// VerifyWeight cannot verify Gateway API weights, so it reports nil.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}

// SetWeight gives the canary weight, each additional destination its
// weight and the stable the rest of maxTrafficWeight in every route.
func (r *Router) SetWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) error {
	cfg, svc, err := r.setup()
	if err != nil {
		return err
	}
	maxW := r.Rollout.MaxTrafficWeight()
	stable := maxW - weight
	for _, a := range additional {
		stable -= a.Weight
	}
	if weight < 0 || stable < 0 {
		return &traffic.SpecError{Field: "spec.strategy.canary.steps", Msg: fmt.Sprintf(
			"canary weight %d and experiment weights leave %d for the stable, out of maxTrafficWeight %d: lower the setWeight or the experiment weights",
			weight, stable, maxW)}
	}
	routes, err := r.routes(ctx, cfg, nil)
	if err != nil {
		return err
	}
	ports, err := r.ports(ctx, additional)
	if err != nil {
		return err
	}
	w := weightSpec{svc: svc, canary: int64(weight), stable: int64(stable), additional: additional, ports: ports,
		labelKey: cfg.LabelKey(), labelValue: cfg.LabelValue()}
	what := fmt.Sprintf("canary weight %d, stable weight %d", weight, stable)
	return r.apply(ctx, cfg, routes, func(Route) (string, editFunc) {
		return what, func(d *routeDoc) error { return setWeights(d, r.owner(), w) }
	})
}

// SetHeaderRoute adds, or with no match removes, the header rules of the
// managed route h.Name in the HTTPRoutes and GRPCRoutes that take header
// rules; removal visits every HTTPRoute and GRPCRoute.
func (r *Router) SetHeaderRoute(ctx context.Context, h *v1alpha1.SetHeaderRoute) error {
	if h == nil {
		return nil
	}
	cfg, svc, err := r.setup()
	if err != nil {
		return err
	}
	var headers []any
	if len(h.Match) > 0 {
		var p *problem
		if headers, p = headerMatches(h); p != nil {
			return &traffic.SpecError{Field: stepField(r.Rollout, h, nil) + p.sub, Msg: p.msg}
		}
		if ok, _ := headerTargets(cfg); !ok {
			return &traffic.SpecError{Field: stepField(r.Rollout, h, nil) + ".setHeaderRoute", Msg: noHeaderTarget}
		}
	}
	routes, err := r.routes(ctx, cfg, Kind.headerCapable)
	if err != nil {
		return err
	}
	return r.apply(ctx, cfg, routes, func(rt Route) (string, editFunc) {
		if !rt.HeaderRoutes || headers == nil {
			return fmt.Sprintf("header route %q removed", h.Name), func(d *routeDoc) error { return setHeaderRule(d, r.owner(), h.Name, svc, nil) }
		}
		return fmt.Sprintf("header route %q set", h.Name), func(d *routeDoc) error { return setHeaderRule(d, r.owner(), h.Name, svc, headers) }
	})
}

// SetMirrorRoute adds, or with no match removes, the mirror rule of the
// managed route m.Name in the HTTPRoutes that take header rules; removal
// visits every HTTPRoute.
func (r *Router) SetMirrorRoute(ctx context.Context, m *v1alpha1.SetMirrorRoute) error {
	if m == nil {
		return nil
	}
	cfg, svc, err := r.setup()
	if err != nil {
		return err
	}
	var matches []any
	if len(m.Match) > 0 {
		var p *problem
		if matches, p = mirrorMatches(m); p != nil {
			return &traffic.SpecError{Field: stepField(r.Rollout, nil, m) + p.sub, Msg: p.msg}
		}
		if _, ok := headerTargets(cfg); !ok {
			return &traffic.SpecError{Field: stepField(r.Rollout, nil, m) + ".setMirrorRoute", Msg: noMirrorTarget}
		}
	}
	routes, err := r.routes(ctx, cfg, func(k Kind) bool { return k == HTTPRoute })
	if err != nil {
		return err
	}
	return r.apply(ctx, cfg, routes, func(rt Route) (string, editFunc) {
		if !rt.HeaderRoutes || matches == nil {
			return fmt.Sprintf("mirror route %q removed", m.Name), func(d *routeDoc) error { return setMirrorRule(d, r.owner(), m.Name, svc, nil, nil) }
		}
		return fmt.Sprintf("mirror route %q set", m.Name), func(d *routeDoc) error { return setMirrorRule(d, r.owner(), m.Name, svc, matches, m.Percentage) }
	})
}

// RemoveManagedRoutes removes every rule this Rollout added to its
// HTTPRoutes and GRPCRoutes, whatever step added it, and its record of
// them; the user's rules are untouched.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	cfg, _, err := r.setup()
	if err != nil {
		return err
	}
	routes, err := r.routes(ctx, cfg, Kind.headerCapable)
	if err != nil {
		return err
	}
	return r.apply(ctx, cfg, routes, func(Route) (string, editFunc) {
		return "managed routes removed", func(d *routeDoc) error { d.drop(r.owner(), ""); return nil }
	})
}

// setup parses the configuration and names the Services.
func (r *Router) setup() (*Config, services, error) {
	c := r.Rollout.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil, services{}, &traffic.SpecError{Field: ConfigField, Msg: "is missing: the Gateway API router needs spec.strategy.canary.trafficRouting"}
	}
	cfg, err := ParseConfig(c.TrafficRouting.Plugins[ConfigKey])
	if err != nil {
		return nil, services{}, err
	}
	for _, s := range []struct{ field, name string }{{"canaryService", c.CanaryService}, {"stableService", c.StableService}} {
		if s.name == "" {
			return nil, services{}, &traffic.SpecError{Field: "spec.strategy.canary." + s.field,
				Msg: "is required for Gateway API routing: name the Service the route's backendRefs use"}
		}
	}
	return cfg, services{canary: c.CanaryService, stable: c.StableService, namespace: r.Rollout.Namespace}, nil
}

// owner identifies the Rollout in AnnotationKey.
func (r *Router) owner() string { return r.Rollout.Namespace + "/" + r.Rollout.Name }

// managedRoutes are the managed route names, highest precedence first.
func (r *Router) managedRoutes() []string {
	var out []string
	for _, m := range r.Rollout.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes {
		out = append(out, m.Name)
	}
	return out
}

func (r *Router) namespace(cfg *Config) string {
	if cfg.Namespace != "" {
		return cfg.Namespace
	}
	return r.Rollout.Namespace
}

// routes are the configured routes of the kinds keep accepts (all when
// nil), named ones first, then those the selectors find, each once. With
// every kind asked for, finding none is a SpecError.
func (r *Router) routes(ctx context.Context, cfg *Config, keep func(Kind) bool) ([]Route, error) {
	ns := r.namespace(cfg)
	var out []Route
	seen := map[Kind][]string{}
	var selectors []Route
	for _, rt := range cfg.Routes() {
		switch {
		case keep != nil && !keep(rt.Kind):
		case rt.Selector != nil:
			selectors = append(selectors, rt)
		default:
			out = append(out, rt)
			seen[rt.Kind] = append(seen[rt.Kind], rt.Name)
		}
	}
	for _, sel := range selectors {
		s, err := metav1.LabelSelectorAsSelector(sel.Selector)
		if err != nil {
			return nil, &traffic.SpecError{Field: sel.Field, Msg: fmt.Sprintf("is not a valid label selector: %v", err)}
		}
		list := &unstructured.UnstructuredList{}
		gvk := sel.Kind.GroupVersionKind()
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := r.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: s}); err != nil {
			if meta.IsNoMatchError(err) {
				return nil, notServed(sel)
			}
			return nil, fmt.Errorf("list %ss in namespace %s matching %s: %w", sel.Kind, ns, s, err)
		}
		var names []string
		for _, item := range list.Items {
			names = append(names, item.GetName())
		}
		slices.Sort(names)
		for _, name := range names {
			if !slices.Contains(seen[sel.Kind], name) {
				out = append(out, Route{Kind: sel.Kind, Name: name, Field: sel.Field})
				seen[sel.Kind] = append(seen[sel.Kind], name)
			}
		}
	}
	if keep == nil && len(out) == 0 {
		return nil, &traffic.SpecError{Field: ConfigField, Msg: fmt.Sprintf(
			"names no route and its selectors match none in namespace %q: label the routes to split so a selector matches them, or name them", ns)}
	}
	return out, nil
}

func notServed(rt Route) error {
	gvk := rt.Kind.GroupVersionKind()
	return &traffic.SpecError{Field: rt.Field, Msg: fmt.Sprintf(
		"the cluster does not serve %s %s: install the Gateway API CRDs (TCPRoute and TLSRoute are in the experimental channel)", gvk.GroupVersion(), gvk.Kind)}
}

// get reads a route.
func (r *Router) get(ctx context.Context, cfg *Config, rt Route) (*unstructured.Unstructured, error) {
	ns := r.namespace(cfg)
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(rt.Kind.GroupVersionKind())
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: rt.Name}, obj)
	switch {
	case err == nil:
		return obj, nil
	case apierrors.IsNotFound(err):
		return nil, &traffic.SpecError{Field: rt.Field, Msg: fmt.Sprintf(
			"%s %q not found in namespace %q: create it or correct the name", rt.Kind, rt.Name, ns)}
	case meta.IsNoMatchError(err):
		return nil, notServed(rt)
	}
	return nil, fmt.Errorf("read %s %s/%s: %w", rt.Kind, ns, rt.Name, err)
}

// editFunc changes a route's rules and state.
type editFunc func(*routeDoc) error

// apply edits every route, reading and editing them all before writing
// any, so a route that is missing or cannot be split stops the call with
// no route half-changed; then it updates those that changed. A conflict
// is retried on a fresh read of that route.
func (r *Router) apply(ctx context.Context, cfg *Config, routes []Route, edits func(Route) (string, editFunc)) error {
	pending := make([]*unstructured.Unstructured, len(routes))
	for i, rt := range routes {
		_, f := edits(rt)
		obj, changed, err := r.prepare(ctx, cfg, rt, f)
		if err != nil {
			return err
		}
		if changed {
			pending[i] = obj
		}
	}
	for i, rt := range routes {
		obj := pending[i]
		if obj == nil {
			continue
		}
		what, f := edits(rt)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if obj == nil {
				o, changed, err := r.prepare(ctx, cfg, rt, f)
				if err != nil || !changed {
					return err
				}
				obj = o
			}
			sent := obj.DeepCopy()
			if err := r.update(ctx, rt, obj); err != nil {
				obj = nil
				return err
			}
			r.event(ReasonUpdated, fmt.Sprintf("Updated %s %q: %s", rt.Kind, rt.Name, what))
			return r.reanchor(ctx, rt, sent, obj)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// prepare reads a route and applies f through the pure edit, reporting
// whether that changed anything.
func (r *Router) prepare(ctx context.Context, cfg *Config, rt Route, f editFunc) (*unstructured.Unstructured, bool, error) {
	obj, err := r.get(ctx, cfg, rt)
	if err != nil {
		return nil, false, err
	}
	before := fingerprint(rt.Kind, obj.Object)
	if err := edit(rt.Kind, obj.Object, rt.Field, r.owner(), r.managedRoutes(), f); err != nil {
		return nil, false, err
	}
	return obj, fingerprint(rt.Kind, obj.Object) != before, nil
}

// reanchor re-records the managed rules' ids when the API server stored
// them differently from how they were sent (see the pure reanchor). It
// only writes the annotation, and only while the stored rules are still
// the ones just written, so a concurrent edit is never overwritten.
func (r *Router) reanchor(ctx context.Context, rt Route, sent, stored *unstructured.Unstructured) error {
	changed, err := reanchor(rt.Kind, sent.Object, stored.Object)
	if err != nil || !changed {
		return err
	}
	err = r.update(ctx, rt, stored)
	if apierrors.IsConflict(err) {
		// Someone changed the route since; the next reconcile reads it
		// afresh. Returning the conflict would redo the edit on top of ids
		// that no longer match.
		return nil
	}
	return err
}

// update writes obj, turning a rejection by the API server's validation
// into a SpecError: the change is not valid for the route as configured,
// and a retry would be rejected the same way.
func (r *Router) update(ctx context.Context, rt Route, obj *unstructured.Unstructured) error {
	err := r.Client.Update(ctx, obj)
	if err == nil {
		return nil
	}
	if !apierrors.IsConflict(err) {
		r.event(ReasonUpdateError, fmt.Sprintf("Error updating %s %q: %v", rt.Kind, obj.GetName(), err))
	}
	if apierrors.IsInvalid(err) {
		return &traffic.SpecError{Field: rt.Field, Msg: fmt.Sprintf(
			"the API server rejected the change to %s %q (%v): fix the route, or the step whose rule it rejects", rt.Kind, obj.GetName(), err)}
	}
	return fmt.Errorf("update %s %s/%s: %w", rt.Kind, obj.GetNamespace(), obj.GetName(), err)
}

// ports finds a port for each experiment Service: the one named "http",
// else the first, as the plugin does. The Services are created with the
// experiment, so a missing one is waited for rather than reported.
func (r *Router) ports(ctx context.Context, additional []traffic.WeightDestination) (map[string]int64, error) {
	out := map[string]int64{}
	for _, a := range additional {
		var svc corev1.Service
		key := types.NamespacedName{Namespace: r.Rollout.Namespace, Name: a.ServiceName}
		if err := r.Client.Get(ctx, key, &svc); err != nil {
			return nil, fmt.Errorf("read experiment Service %s: %w", key, err)
		}
		if len(svc.Spec.Ports) == 0 {
			return nil, errors.New("experiment Service " + key.String() + " has no ports")
		}
		port := svc.Spec.Ports[0].Port
		for _, p := range svc.Spec.Ports {
			if p.Name == "http" {
				port = p.Port
				break
			}
		}
		out[a.ServiceName] = int64(port)
	}
	return out, nil
}

func (r *Router) event(reason, msg string) {
	if r.Recorder != nil {
		r.Recorder(reason, msg)
	}
}
